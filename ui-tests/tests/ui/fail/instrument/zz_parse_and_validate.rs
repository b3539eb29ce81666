use instrument_runtime::instrument;

#[instrument(nmae = "x", fields(missing))]
const fn work() {}

fn main() {}
