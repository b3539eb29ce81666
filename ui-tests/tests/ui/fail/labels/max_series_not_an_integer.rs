// `max_series` takes an integer literal.
use instrument_runtime::instrument;

#[instrument(labels(cached), max_series = "100")]
fn handle(cached: bool) -> bool {
    cached
}

fn main() {}
