// A typo in `crate = path` gets rustc's own error, at the path.
use instrument_runtime::instrument;

#[instrument(crate = instrument_runtim)]
fn work() {}

fn main() {}
