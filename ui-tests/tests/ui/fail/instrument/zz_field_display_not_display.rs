use instrument_runtime::instrument;

struct Opaque;

#[instrument(fields(o = %thing))]
fn make(thing: Opaque) {}

fn main() {}
