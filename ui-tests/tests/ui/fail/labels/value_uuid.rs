// An id type is unbounded, whatever the label's name.
use instrument_runtime::instrument;

struct Uuid([u8; 16]);

#[instrument(labels(tenant = tenant))]
fn handle(tenant: Uuid) {}

fn main() {}
