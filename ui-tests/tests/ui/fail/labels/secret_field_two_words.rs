// Two-word secrets: `api_key`.
use instrument_runtime::instrument;

#[instrument(fields(api_key = ?key))]
fn call(key: &str) -> usize {
    key.len()
}

fn main() {}
