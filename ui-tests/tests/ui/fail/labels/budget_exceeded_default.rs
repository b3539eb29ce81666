// 20 × 30 × 2 = 1200 series, over the default budget of 1000.
use instrument_runtime::{instrument, Label};

struct Twenty(u8);
struct Thirty(u8);

impl Label for Twenty {
    const CARDINALITY: usize = 20;
    fn index(&self) -> usize {
        usize::from(self.0)
    }
    fn name(_: usize) -> &'static str {
        "n"
    }
}

impl Label for Thirty {
    const CARDINALITY: usize = 30;
    fn index(&self) -> usize {
        usize::from(self.0)
    }
    fn name(_: usize) -> &'static str {
        "n"
    }
}

#[instrument(labels(a = Twenty(a), b = Thirty(b)))]
fn handle(a: u8, b: u8) {}

fn main() {
    handle(1, 2);
}
