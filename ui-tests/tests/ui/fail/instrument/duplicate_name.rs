// `name` given twice: the second one is the error.
use instrument_runtime::instrument;

#[instrument(name = "a", name = "b")]
fn work() {}

fn main() {}
