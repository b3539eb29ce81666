// The `error` label counts in the budget: 2 × 3 (none, not_found, timeout) × 2 = 12 > 10.
use instrument_runtime::{instrument, Label};

#[derive(Label)]
enum ApiError {
    NotFound,
    Timeout,
}

#[instrument(labels(cached), error_label, max_series = 10)]
fn handle(cached: bool) -> Result<(), ApiError> {
    Ok(())
}

fn main() {
    let _ = handle(true);
}
