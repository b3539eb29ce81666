// `%value` on a type without `Display`. KNOWN MACRO BUG: spans the attribute, not `thing`.
use instrument_runtime::instrument;

struct Opaque;

#[instrument(fields(o = %thing))]
fn make(thing: Opaque) -> Opaque {
    thing
}

fn main() {}
