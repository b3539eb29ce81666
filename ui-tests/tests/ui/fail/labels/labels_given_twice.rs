// `labels` is given twice (write one list).
use instrument_runtime::instrument;

#[instrument(labels(a = x), labels(b = y))]
fn handle(x: bool, y: bool) -> bool {
    x && y
}

fn main() {}
