// `parent = x` where `x` is not a span context: the error points at `x`.
use instrument_runtime::instrument;

#[instrument(parent = id)]
fn child(id: u64) -> u64 {
    id
}

fn main() {}
