// One label name, two values.
use instrument_runtime::instrument;

#[instrument(labels(cached = a, cached = b))]
fn handle(a: bool, b: bool) -> bool {
    a && b
}

fn main() {}
