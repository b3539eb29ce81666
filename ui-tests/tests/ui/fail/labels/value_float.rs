// A float is unbounded.
use instrument_runtime::instrument;

#[instrument(labels(ratio = ratio * 100.0))]
fn sample(ratio: f64) {}

fn main() {}
