// `ret` on a type without `Debug`. KNOWN MACRO BUG: spans the whole attribute, not `ret`.
use instrument_runtime::instrument;

struct Opaque;

#[instrument(ret)]
fn make() -> Opaque {
    Opaque
}

fn main() {}
