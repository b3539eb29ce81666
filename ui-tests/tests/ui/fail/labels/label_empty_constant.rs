// An empty label value is an absent label on the backend.
use instrument_runtime::instrument;

#[instrument(labels(region = ""))]
fn handle() {}

fn main() {}
