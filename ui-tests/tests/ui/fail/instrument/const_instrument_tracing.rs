// tracing-attributes' `ui/fail/const_instrument.rs`.
use instrument_runtime::instrument;

#[instrument]
const fn unit() {
    ""
}

fn main() {}
