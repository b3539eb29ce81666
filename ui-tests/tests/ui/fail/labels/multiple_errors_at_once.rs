// Every mistake of one attribute is reported in one build.
use instrument_runtime::instrument;

#[instrument(labels(user_id = a, result = b, region = ""), fields(token), max_series = 1)]
fn handle(a: bool, b: bool, token: &str) -> bool {
    a && b && token.is_empty()
}

fn main() {}
