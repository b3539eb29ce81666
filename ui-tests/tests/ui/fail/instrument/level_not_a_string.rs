// `level` takes a string literal, not a path.
use instrument_runtime::instrument;

#[instrument(level = Level::DEBUG)]
fn work() {}

fn main() {}
