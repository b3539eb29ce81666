// tracing-attributes' `ui/fail/unused_instrumented_fn.rs`: an unused instrumented fn is still
// reported as dead code (the expansion does not use it).
#![deny(dead_code)]

#[instrument_runtime::instrument]
fn never_used() {}

fn main() {}
