// `error_label` on a function that returns nothing.
use instrument_runtime::instrument;

#[instrument(error_label)]
fn handle() {}

fn main() {}
