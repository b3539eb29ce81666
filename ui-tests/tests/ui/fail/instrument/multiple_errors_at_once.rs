// Two different mistakes in one attribute are both reported in the same build.
use instrument_runtime::instrument;

#[instrument(level = "loud", skip(missing))]
fn work(id: u64) -> u64 {
    id
}

fn main() {}
