// Three mistakes (argument, field, const fn). KNOWN MACRO BUG: only the first is reported.
use instrument_runtime::instrument;

#[instrument(nmae = "x", fields(missing))]
const fn work() {}

fn main() {}
