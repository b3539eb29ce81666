// An empty list is refused (leave `buckets` out for the defaults).
use instrument_runtime::instrument;

#[instrument(buckets = [])]
fn work() {}

fn main() {}
