// Labels are span attributes too: the same name as a field would be recorded twice.
use instrument_runtime::instrument;

#[instrument(labels(cached), fields(cached))]
fn handle(cached: bool) -> bool {
    cached
}

fn main() {}
