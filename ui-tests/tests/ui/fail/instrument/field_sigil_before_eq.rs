// The sigil goes before the value (`name = %value`), not before the name.
use instrument_runtime::instrument;

#[instrument(fields(%user = name))]
fn greet(name: &str) -> usize {
    name.len()
}

fn main() {}
