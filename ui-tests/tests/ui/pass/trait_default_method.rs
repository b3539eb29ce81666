// A trait's default method with a body (sync and async), called through an impl.
use instrument_runtime::instrument;
use instrument_ui_tests::{collect, spans};

trait Greeter {
    fn name(&self) -> String;

    #[instrument]
    fn greet(&self) -> String {
        format!("hello {}", self.name())
    }

    #[allow(async_fn_in_trait)]
    #[instrument]
    async fn greet_later(&self) -> String {
        tokio::task::yield_now().await;
        self.greet()
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(World.greet_later()), "hello world");
    assert_eq!(spans(&telemetry, &collected, "greet").len(), 2);
    assert_eq!(spans(&telemetry, &collected, "greet_later").len(), 1);
    assert_eq!(spans(&telemetry, &collected, "boxed").len(), 1);
}
