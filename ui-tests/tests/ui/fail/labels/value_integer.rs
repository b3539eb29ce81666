// An integer is unbounded: the error is on the label's expression and says what to do.
use instrument_runtime::instrument;

#[instrument(labels(shard = shard))]
fn store(shard: u64) {}

fn main() {}
