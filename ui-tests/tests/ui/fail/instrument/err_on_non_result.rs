// `err` on a function that does not return `Result`.
use instrument_runtime::instrument;

#[instrument(err)]
fn answer() -> u32 {
    42
}

fn main() {}
