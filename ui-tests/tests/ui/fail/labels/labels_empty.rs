// `labels()` with nothing in it.
use instrument_runtime::instrument;

#[instrument(labels())]
fn handle() {}

fn main() {}
