// `result` is written by the exporter itself.
use instrument_runtime::instrument;

#[instrument(labels(result = ok))]
fn handle(ok: bool) -> bool {
    ok
}

fn main() {}
