// Label names are identifiers: metric backends refuse `.`.
use instrument_runtime::instrument;

#[instrument(labels(http.cached = hit))]
fn handle(hit: bool) -> bool {
    hit
}

fn main() {}
