// `name` takes a string literal, not an integer.
use instrument_runtime::instrument;

#[instrument(name = 42)]
fn work() {}

fn main() {}
