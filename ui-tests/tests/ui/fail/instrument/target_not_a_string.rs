// `target` takes a string or a `&'static str` constant: a path that does not resolve gets rustc's error at the path.
use instrument_runtime::instrument;

#[instrument(target = my::module)]
fn work() {}

fn main() {}
