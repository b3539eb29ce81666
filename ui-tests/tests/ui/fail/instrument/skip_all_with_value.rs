// `skip_all` takes no value.
use instrument_runtime::instrument;

#[instrument(skip_all = true)]
fn work() {}

fn main() {}
