// `?arg` on a type without `Debug`. KNOWN MACRO BUG: spans the attribute, not `thing`.
use instrument_runtime::instrument;

struct Opaque;

#[instrument(fields(?thing))]
fn make(thing: Opaque) -> Opaque {
    thing
}

fn main() {}
