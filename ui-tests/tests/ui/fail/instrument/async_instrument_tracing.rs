// tracing-attributes' `ui/fail/async_instrument.rs`: type errors of async bodies point at the
// user's expression (and the declared type), also with no declared return type and with
// `impl Trait` in it.
#![allow(unreachable_code)]
use instrument_runtime::instrument;

#[instrument]
async fn unit() {
    ""
}

#[instrument]
async fn simple_mismatch() -> String {
    ""
}

#[instrument]
async fn opaque_unsatisfied() -> impl std::fmt::Display {
    ("",)
}

struct Wrapper<T>(T);

#[instrument]
async fn mismatch_with_opaque() -> Wrapper<impl std::fmt::Display> {
    ""
}

#[instrument]
async fn early_return_unit() {
    if true {
        return "";
    }
}

#[instrument]
async fn early_return() -> String {
    if true {
        return "";
    }
    String::new()
}

#[instrument]
async fn extra_semicolon() -> i32 {
    1;
}

fn main() {}
