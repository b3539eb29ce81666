// The user's own lints still fire inside the body, at the user's span.
#![deny(warnings)]
use instrument_runtime::instrument;

#[instrument]
fn work(x: u8) -> u8 {
    let y = 3;
    x
}

fn main() {}
