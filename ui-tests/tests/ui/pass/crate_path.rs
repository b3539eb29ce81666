// `crate = ::instrument_runtime` (the default, spelled out) and `crate = path` via a re-export.
mod reexport {
    pub use ::instrument_runtime as rt;
}

#[instrument_runtime::instrument(crate = ::instrument_runtime, err)]
fn explicit(x: u8) -> Result<u8, String> {
    Ok(x)
}

#[instrument_runtime::instrument(crate = reexport::rt, ret)]
fn through_reexport(x: u8) -> u8 {
    x
}

fn main() {
    assert_eq!(explicit(1), Ok(1));
    assert_eq!(through_reexport(2), 2);
}
