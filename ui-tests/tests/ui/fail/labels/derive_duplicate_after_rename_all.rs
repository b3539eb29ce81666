// Distinct identifiers can render the same: `HttpError` and `HTTPError` are both `http_error`.
use instrument_runtime::Label;

#[allow(clippy::upper_case_acronyms)]
#[derive(Label)]
enum Failure {
    HttpError,
    HTTPError,
}

fn main() {}
