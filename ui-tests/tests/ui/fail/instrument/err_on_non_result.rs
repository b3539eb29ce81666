// `err` on a non-`Result` fn: the error points at `err` and says it needs a `Result`.
use instrument_runtime::instrument;

#[instrument(err)]
fn answer() -> u32 {
    42
}

fn main() {}
