use instrument_runtime::instrument;

#[instrument(parent = id)]
fn child(id: u64) {}

fn main() {}
