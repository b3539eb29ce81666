// A budget with nothing to bound.
use instrument_runtime::instrument;

#[instrument(max_series = 100)]
fn handle() {}

fn main() {}
