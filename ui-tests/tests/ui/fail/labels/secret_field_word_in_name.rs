// A secret word inside a longer name (`access_token`) is refused too.
use instrument_runtime::instrument;

#[instrument(fields(access_token))]
fn call(access_token: &str) -> usize {
    access_token.len()
}

fn main() {}
