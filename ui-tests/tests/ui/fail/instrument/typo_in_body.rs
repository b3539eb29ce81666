// A typo inside the body gets rustc's own error at the user's span: the body is kept as tokens.
use instrument_runtime::instrument;

#[instrument]
fn total(items: &[u32]) -> u32 {
    itmes.iter().sum()
}

fn main() {}
