// `ret` on a type without `Debug`: the error points at `ret`.
use instrument_runtime::instrument;

struct Opaque;

#[instrument(ret)]
fn make() -> Opaque {
    Opaque
}

fn main() {}
