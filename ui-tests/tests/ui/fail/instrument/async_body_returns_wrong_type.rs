// Async body has the wrong type: rustc's error at the body's tail, as without the macro.
use instrument_runtime::instrument;

#[instrument]
async fn answer() -> u32 {
    "forty-two"
}

fn main() {}
