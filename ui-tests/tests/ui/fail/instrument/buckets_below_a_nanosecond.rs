// Latencies are measured in nanoseconds: a smaller bound cannot be told apart.
use instrument_runtime::instrument;

#[instrument(buckets = [1e-12, 1.0])]
fn work() {}

fn main() {}
