// An argument the macro does not know is named in the error.
use instrument_runtime::instrument;

#[instrument(nmae = "work")]
fn work() {}

fn main() {}
