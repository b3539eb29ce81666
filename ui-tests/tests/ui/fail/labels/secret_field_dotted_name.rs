// Dotted names are checked word by word (`http.authorization`).
use instrument_runtime::instrument;

#[instrument(fields(http.authorization = %header))]
fn call(header: &str) -> usize {
    header.len()
}

fn main() {}
