// `email` identifies a person.
use instrument_runtime::instrument;

#[instrument(labels(email = verified))]
fn handle(verified: bool) -> bool {
    verified
}

fn main() {}
