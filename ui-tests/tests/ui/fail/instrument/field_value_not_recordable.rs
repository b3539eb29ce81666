// A value without `FieldValue`, no sigil. KNOWN MACRO BUG: spans the attribute, not `req`.
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
