// `level` must be one of trace, debug, info, warn, error.
use instrument_runtime::instrument;

#[instrument(level = "verbose")]
fn work() {}

fn main() {}
