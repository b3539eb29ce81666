// `buckets` takes a list.
use instrument_runtime::instrument;

#[instrument(buckets = 0.5)]
fn work() {}

fn main() {}
