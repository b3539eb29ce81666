// A label name that identifies a person is refused by name, whatever its type.
use instrument_runtime::{instrument, Label};

#[derive(Label)]
enum Kind {
    Free,
    Paid,
}

#[instrument(labels(user_id = kind))]
fn handle(kind: Kind) -> Kind {
    kind
}

fn main() {}
