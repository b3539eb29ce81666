// A `String` is unbounded.
use instrument_runtime::instrument;

struct Request {
    route: String,
}

#[instrument(labels(route = req.route))]
fn handle(req: &Request) {}

fn main() {}
