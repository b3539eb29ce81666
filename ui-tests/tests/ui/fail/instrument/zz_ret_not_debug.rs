use instrument_runtime::instrument;

struct Opaque;

#[instrument(ret)]
fn make() -> Opaque {
    Opaque
}

fn main() {}
