use instrument_runtime::instrument;

#[instrument(fields = x)]
fn work(x: u8) {}

fn main() {}
