use instrument_runtime::instrument;

#[instrument(skip_all = true)]
fn work() {}

fn main() {}
