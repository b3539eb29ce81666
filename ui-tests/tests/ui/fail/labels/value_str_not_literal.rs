// A `&str` that is not a literal is unbounded (only string literals are constant labels).
use instrument_runtime::instrument;

#[instrument(labels(region = region))]
fn handle(region: &str) {}

fn main() {}
