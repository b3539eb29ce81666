// `%value` on a type without `Display`: the error points at the value.
use instrument_runtime::instrument;

struct Opaque;

#[instrument(fields(o = %thing))]
fn make(thing: Opaque) -> Opaque {
    thing
}

fn main() {}
