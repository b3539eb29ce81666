// A trait's default method with a body (sync and async), called through an impl.
use instrument_runtime::instrument;
use instrument_ui_tests::{collect, spans};

trait Greeter {
    fn name(&self) -> String;

    #[instrument]
    fn greet(&self) -> String {
        format!("hello {}", self.name())
    }

    #[instrument]
    fn boxed(self: Box<Self>) -> String
    where
        Self: Sized,
    {
        self.name()
    }
}

struct World;

impl Greeter for World {
    fn name(&self) -> String {
        "world".to_owned()
    }
}

fn main() {
    let (telemetry, collected) = collect();
    assert_eq!(World.greet(), "hello world");
    assert_eq!(Box::new(World).boxed(), "world");
    assert_eq!(spans(&telemetry, &collected, "greet").len(), 1);
    assert_eq!(spans(&telemetry, &collected, "boxed").len(), 1);
}
