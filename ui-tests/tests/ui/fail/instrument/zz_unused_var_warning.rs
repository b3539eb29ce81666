#![deny(warnings)]
use instrument_runtime::instrument;

#[instrument]
fn work(x: u8) -> u8 {
    let y = 3;
    x
}

fn main() {}
