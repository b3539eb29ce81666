// A hand-written `Label` with `CARDINALITY = 0` has no value to label with.
use instrument_runtime::{instrument, Label};

struct Nothing;

impl Label for Nothing {
    const CARDINALITY: usize = 0;
    fn index(&self) -> usize {
        0
    }
    fn name(_: usize) -> &'static str {
        ""
    }
}

#[instrument(labels(nothing = Nothing))]
fn handle() {}

fn main() {
    handle();
}
