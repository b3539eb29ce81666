use instrument_runtime::instrument;

#[instrument(fields(len = itmes.len()))]
fn work(items: Vec<u8>) {}

fn main() {}
