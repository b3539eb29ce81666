// The runtime under another name: `crate = ...` for `#[instrument]`, `#[label(crate = ...)]`
// for the derive.
extern crate instrument_runtime as telemetry;

mod reexport {
    pub use ::telemetry as rt;
}

#[derive(telemetry::Label, Clone, Copy)]
#[label(crate = reexport::rt)]
enum Kind {
    Read,
    Write,
}

#[telemetry::instrument(crate = reexport::rt, labels(kind))]
fn io(kind: Kind) -> u8 {
    kind as u8
}

fn main() {
    assert_eq!(io(Kind::Write), 1);
    assert_eq!(<Kind as telemetry::Label>::CARDINALITY, 2);
}
