// Bounds are checked at compile time: number literals only.
use instrument_runtime::instrument;

#[instrument(buckets = [LIMIT, 1.0])]
fn work() {}

fn main() {}
