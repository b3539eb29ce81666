// `err` on an error without `Display`. KNOWN MACRO BUG: spans the attribute, not `err`.
use instrument_runtime::instrument;

#[derive(Debug)]
struct Opaque;

#[instrument(err)]
fn make() -> Result<(), Opaque> {
    Err(Opaque)
}

fn main() {}
