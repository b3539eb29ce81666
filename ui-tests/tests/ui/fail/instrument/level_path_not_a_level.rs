// `level = PATH` for a path that is not one of the five levels must be a constant of our
// `Level` type: a tracing `Level` constant under another name is not.
use instrument_runtime::instrument;

const LOUD: tracing::Level = tracing::Level::WARN;

#[instrument(level = LOUD)]
fn work() {}

fn main() {}
