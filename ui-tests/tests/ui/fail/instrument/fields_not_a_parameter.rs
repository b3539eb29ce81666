// `fields(x)` without a value must name a parameter.
use instrument_runtime::instrument;

#[instrument(fields(user_id))]
fn work(id: u64) -> u64 {
    id
}

fn main() {}
