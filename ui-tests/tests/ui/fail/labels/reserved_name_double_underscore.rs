// Prometheus reserves label names starting with `__`.
use instrument_runtime::instrument;

#[instrument(labels(__name = flag))]
fn handle(flag: bool) -> bool {
    flag
}

fn main() {}
