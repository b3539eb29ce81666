// Three mistakes (argument, skip, const fn): all three are reported in one build.
use instrument_runtime::instrument;

#[instrument(nmae = "x", skip(missing))]
const fn work() {}

fn main() {}
