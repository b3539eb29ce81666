// `target` takes a string literal, not a path.
use instrument_runtime::instrument;

#[instrument(target = my::module)]
fn work() {}

fn main() {}
