use instrument_runtime::instrument;

struct Opaque;

#[instrument(fields(?thing))]
fn make(thing: Opaque) {}

fn main() {}
