// Three mistakes (argument, field, const fn): all three are reported in one build.
use instrument_runtime::instrument;

#[instrument(nmae = "x", fields(missing))]
const fn work() {}

fn main() {}
