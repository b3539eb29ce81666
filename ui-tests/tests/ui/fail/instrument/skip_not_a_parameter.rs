// `skip(x)` must name a parameter.
use instrument_runtime::instrument;

#[instrument(skip(pasword))]
fn login(user: &str, password: &str) -> bool {
    user == password
}

fn main() {}
