// `?arg` on a type without `Debug`: the error points at the value.
use instrument_runtime::instrument;

struct Opaque;

#[instrument(fields(?thing))]
fn make(thing: Opaque) -> Opaque {
    thing
}

fn main() {}
