// A trait method without a body has nothing to instrument.
use instrument_runtime::instrument;

trait Store {
    #[instrument]
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
