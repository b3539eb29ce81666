// A bad argument and a `const fn`: both errors in one build.
use instrument_runtime::instrument;

#[instrument(level = "loud")]
const fn work() {}

fn main() {}
