use instrument_runtime::instrument;

#[instrument(crate = instrument_runtim)]
fn work() {}

fn main() {}
