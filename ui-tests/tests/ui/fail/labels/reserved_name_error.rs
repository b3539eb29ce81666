// `error` is reserved; the hint names `error_label`.
use instrument_runtime::instrument;

#[instrument(labels(error = failed))]
fn handle(failed: bool) -> bool {
    failed
}

fn main() {}
