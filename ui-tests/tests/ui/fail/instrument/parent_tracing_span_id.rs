// `parent = <tracing span Id>` has no meaning here: the error names the form and what to
// write instead.
use instrument_runtime::instrument;

#[instrument(parent = tracing::Span::current().id())]
fn work() {}

fn main() {}
