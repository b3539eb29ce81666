// `parent = expr` with a `SpanContext`, an `Option<SpanContext>` (`Some`/`None`), `&self.ctx`.
use instrument_runtime::{current_span_context, instrument, SpanContext};
use instrument_ui_tests::{collect, spans};

#[instrument(parent = ctx)]
fn child(ctx: SpanContext) {}

#[instrument(parent = maybe)]
fn maybe_child(maybe: Option<SpanContext>) {}

struct Job {
    ctx: SpanContext,
}

impl Job {
    #[instrument(parent = &self.ctx)]
    fn run(&self) {}
}

#[instrument(parent = ctx)]
async fn async_child(ctx: SpanContext) {}

#[instrument]
fn root() -> SpanContext {
    current_span_context().expect("inside a span")
}

fn main() {
    let (telemetry, collected) = collect();
    let ctx = root();
    child(ctx);
    maybe_child(Some(ctx));
    maybe_child(None);
    Job { ctx }.run();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async_child(ctx));
    let root = &spans(&telemetry, &collected, "root")[0];
    for name in ["child", "async_child", "run"] {
        let s = &spans(&telemetry, &collected, name)[0];
        assert_eq!(s.parent_span_id, Some(root.span_id), "{name}");
        assert_eq!(s.trace_id, root.trace_id, "{name}");
    }
    let maybe = spans(&telemetry, &collected, "maybe_child");
    assert_eq!(
        maybe
            .iter()
            .filter(|s| s.parent_span_id == Some(root.span_id))
            .count(),
        1
    );
    assert_eq!(
        maybe.iter().filter(|s| s.parent_span_id.is_none()).count(),
        1
    );
}
