// A value without `FieldValue`, no sigil: the error points at the value and suggests `%`/`?`.
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
