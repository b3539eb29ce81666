// `error_label` needs the error type to be a label.
use instrument_runtime::instrument;

#[derive(Debug)]
struct ApiError {
    code: u16,
}

#[instrument(error_label)]
fn handle() -> Result<(), ApiError> {
    Ok(())
}

fn main() {}
