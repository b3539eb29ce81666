// `crate = ...` takes a path, not a string.
use instrument_runtime::instrument;

#[instrument(crate = "instrument_runtime")]
fn work() {}

fn main() {}
