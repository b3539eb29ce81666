use instrument_runtime::instrument;

#[instrument(level = "loud")]
const fn work() {}

fn main() {}
