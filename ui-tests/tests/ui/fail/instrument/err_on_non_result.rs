// `err` on a non-`Result` fn. KNOWN MACRO BUG: spans the attribute, says `mismatched types`.
use instrument_runtime::instrument;

#[instrument(err)]
fn answer() -> u32 {
    42
}

fn main() {}
