// Bucket bounds must be strictly increasing.
use instrument_runtime::instrument;

#[instrument(buckets = [0.001, 0.1, 0.01])]
fn work() {}

fn main() {}
