// Labels on methods: `&self`, `&mut self`, `self`, associated functions, trait impl methods
// and trait default methods.
use instrument_runtime::{instrument, Label};

#[derive(Label, Clone, Copy, PartialEq, Debug)]
enum State {
    Open,
    Closed,
}

struct Door {
    state: State,
    opened: u32,
}

impl Door {
    #[instrument(labels(state = Door::initial()))]
    fn new() -> Door {
        Door {
            state: State::Closed,
            opened: 0,
        }
    }

    fn initial() -> State {
        State::Closed
    }

    #[instrument(labels(state = self.state))]
    fn state(&self) -> State {
        self.state
    }

    #[instrument(labels(from = self.state, forced))]
    fn open(&mut self, forced: bool) -> &mut u32 {
        self.state = State::Open;
        self.opened += 1;
        &mut self.opened
    }

    #[instrument(labels(state = self.state))]
    fn into_state(self) -> State {
        self.state
    }
}

trait Lock {
    fn state(&self) -> State;

    #[instrument(labels(state = self.state()))]
    fn locked(&self) -> bool {
        self.state() == State::Closed
    }
}

impl Lock for Door {
    #[instrument(name = "lock_state", labels(state = self.state))]
    fn state(&self) -> State {
        self.state
    }
}

fn main() {
    let _telemetry = instrument_ui_tests::collect();
    let mut door = Door::new();
    assert_eq!(Door::state(&door), State::Closed);
    assert!(Lock::locked(&door));
    *door.open(true) += 1;
    assert_eq!(door.opened, 2);
    assert_eq!(door.into_state(), State::Open);
}
