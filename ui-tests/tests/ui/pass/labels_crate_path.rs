// The runtime re-exported under another path: `crate = ...` for `#[instrument]`,
// `#[label(crate = ...)]` for the derive.
mod reexport {
    pub use ::instrument_runtime as rt;
}

use reexport::rt;

#[derive(rt::Label, Clone, Copy)]
#[label(crate = reexport::rt)]
enum Kind {
    Read,
    Write,
}

#[rt::instrument(crate = reexport::rt, labels(kind))]
fn io(kind: Kind) -> u8 {
    kind as u8
}

fn main() {
    assert_eq!(io(Kind::Write), 1);
    assert_eq!(<Kind as rt::Label>::CARDINALITY, 2);
}
