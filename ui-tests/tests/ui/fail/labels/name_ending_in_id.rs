// Any label name ending in `_id` is refused.
use instrument_runtime::instrument;

#[instrument(labels(order_id = flag))]
fn handle(flag: bool) -> bool {
    flag
}

fn main() {}
