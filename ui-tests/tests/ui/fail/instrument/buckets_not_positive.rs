// A bucket bound is an upper bound of latency: positive.
use instrument_runtime::instrument;

#[instrument(buckets = [-0.5, 1.0])]
fn work() {}

fn main() {}
