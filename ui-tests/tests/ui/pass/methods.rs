// Methods taking `&self`, `&mut self` and `self`, plus an associated fn returning `Self`.
use instrument_runtime::instrument;
use instrument_ui_tests::{collect, spans};

#[derive(Debug, PartialEq)]
struct Counter {
    n: u32,
}

impl Counter {
    #[instrument]
    fn new() -> Self {
        Self { n: 0 }
    }

    #[instrument]
    fn get(&self) -> u32 {
        self.n
    }

    #[instrument(fields(by))]
    fn bump(&mut self, by: u32) -> &mut Self {
        self.n += by;
        self
    }

    #[instrument]
    fn into_inner(self) -> u32 {
        self.n
    }
}

fn main() {
    let (telemetry, collected) = collect();
    let mut c = Counter::new();
    c.bump(2).bump(3);
    assert_eq!(c.get(), 5);
    assert_eq!(c.into_inner(), 5);
    for name in ["new", "get", "into_inner"] {
        assert_eq!(spans(&telemetry, &collected, name).len(), 1, "{name}");
    }
    assert_eq!(spans(&telemetry, &collected, "bump").len(), 2);
}
