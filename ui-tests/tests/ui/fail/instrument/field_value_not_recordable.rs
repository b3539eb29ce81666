// A value without a `FieldValue` impl, recorded without a sigil: the hint names `%` and `?`.
use instrument_runtime::instrument;

#[derive(Debug)]
struct Request {
    path: String,
}

#[instrument(fields(request = req))]
fn handle(req: &Request) -> usize {
    req.path.len()
}

fn main() {}
