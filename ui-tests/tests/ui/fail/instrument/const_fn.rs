// A `const fn` cannot be instrumented: a span is a run-time effect.
use instrument_runtime::instrument;

#[instrument]
const fn answer() -> u32 {
    42
}

fn main() {}
