// One field name may be recorded only once.
use instrument_runtime::instrument;

#[instrument(fields(id, id = 7))]
fn work(id: u64) -> u64 {
    id
}

fn main() {}
