// A typo in a field's value expression gets rustc's own error at the user's span.
use instrument_runtime::instrument;

#[instrument(fields(len = itmes.len()))]
fn work(items: Vec<u8>) -> usize {
    items.len()
}

fn main() {}
