// `labels(name)` takes the parameter `name`, which must exist.
use instrument_runtime::instrument;

#[instrument(labels(cached))]
fn handle(hit: bool) -> bool {
    hit
}

fn main() {}
