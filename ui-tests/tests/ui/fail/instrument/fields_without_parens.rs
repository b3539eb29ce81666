// `fields` is a list: `fields(...)`, not `fields = ...`.
use instrument_runtime::instrument;

#[instrument(fields = x)]
fn work(x: u8) -> u8 {
    x
}

fn main() {}
