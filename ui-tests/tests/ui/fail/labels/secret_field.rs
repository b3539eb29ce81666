// A span field named like a secret is exported in clear text: refused unless redacted.
use instrument_runtime::instrument;

#[instrument(fields(password = pw))]
fn login(pw: &str) -> usize {
    pw.len()
}

fn main() {}
