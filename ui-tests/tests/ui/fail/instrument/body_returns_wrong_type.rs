// Body's tail has the wrong type. KNOWN MACRO BUG: error spans the attribute, not the tail.
use instrument_runtime::instrument;

#[instrument]
fn answer() -> u32 {
    "forty-two"
}

fn main() {}
