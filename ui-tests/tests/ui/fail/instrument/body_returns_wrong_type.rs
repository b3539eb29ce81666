// Body's tail has the wrong type: rustc's error at the tail, as without the macro.
use instrument_runtime::instrument;

#[instrument]
fn answer() -> u32 {
    "forty-two"
}

fn main() {}
