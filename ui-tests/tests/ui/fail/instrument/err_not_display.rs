// `err` on an error without `Display`: the error points at `err` (use `err(Debug)`).
use instrument_runtime::instrument;

#[derive(Debug)]
struct Opaque;

#[instrument(err)]
fn make() -> Result<(), Opaque> {
    Err(Opaque)
}

fn main() {}
