// `follows_from = [<tracing span>]` has no meaning here: it takes our `SpanContext`s.
use instrument_runtime::instrument;

#[instrument(follows_from = [&tracing::Span::current()])]
fn work() {}

fn main() {}
