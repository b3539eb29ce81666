// The `result` label alone has 2 series.
use instrument_runtime::instrument;

#[instrument(labels(cached), max_series = 1)]
fn handle(cached: bool) -> bool {
    cached
}

fn main() {}
