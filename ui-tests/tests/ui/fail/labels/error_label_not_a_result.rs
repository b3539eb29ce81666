// `error_label` on a function that returns something other than a `Result`.
use instrument_runtime::instrument;

#[instrument(error_label)]
fn handle() -> Option<u8> {
    None
}

fn main() {}
