#![deny(warnings)]
use instrument_runtime::instrument;

#[instrument]
fn work() -> Result<(), String> {
    Ok(())
}

#[instrument]
fn unit() {}

fn main() {
    let _ = work();
    unit();
    compile_error!("sentinel: no other warnings above");
}
