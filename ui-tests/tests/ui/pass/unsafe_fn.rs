// `unsafe fn` (edition 2021): the body stays an unsafe context, including under `#[deny]`.
#![deny(unsafe_op_in_unsafe_fn)]

use instrument_runtime::instrument;

/// # Safety
/// `p` must be valid for reads.
#[instrument]
unsafe fn read(p: *const u32) -> u32 {
    // SAFETY: the caller guarantees `p` is valid for reads.
    unsafe { *p }
}

mod legacy {
    #![allow(unsafe_op_in_unsafe_fn)]
    use instrument_runtime::instrument;

    /// # Safety
    /// `p` must be valid for reads.
    #[instrument]
    pub unsafe fn read_implicit(p: *const u32) -> u32 {
        *p
    }
}

fn main() {
    let x = 7;
    // SAFETY: `&x` is valid for reads.
    assert_eq!(unsafe { read(&x) }, 7);
    // SAFETY: `&x` is valid for reads.
    assert_eq!(unsafe { legacy::read_implicit(&x) }, 7);
}
