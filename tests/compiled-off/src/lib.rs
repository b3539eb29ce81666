//! The same trivial function, instrumented and not.

use instrument_runtime::{instrument, Label};

/// Instrumented (with a label, whose type is not checked when compiled off).
#[instrument(labels(kind = Kind::A))]
#[inline(never)]
pub fn instrumented(x: u64) -> u64 {
    std::hint::black_box(x).wrapping_mul(3)
}

/// Not instrumented.
#[inline(never)]
pub fn plain(x: u64) -> u64 {
    std::hint::black_box(x).wrapping_mul(3)
}

/// A label type, for the label above.
#[derive(Label, Clone, Copy)]
pub enum Kind {
    /// The one value.
    A,
}
