//! The `tracing` bridge: `tracing` spans become our spans (parent links both ways, fields
//! recorded later, follows_from, `otel.kind`, across `.await`), `tracing` events become log
//! records with our ids and their fields as attributes, the user's fmt layer and `EnvFilter`
//! keep working next to it and can print our ids, and our own `log` records keep their ids.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use instrument_runtime::export::{LogData, SpanData, Value};
use instrument_runtime::testing::{Collected, TestExporter};
use instrument_runtime::tracing_bridge::{layer, WithTraceIds};
use instrument_runtime::{
    current_span, current_span_context, instrument, Level, SpanContext, SpanKind, Telemetry,
};
use instrument_tests::isolated;
use tracing_subscriber::layer::SubscriberExt;

const T: Duration = Duration::from_secs(30);

/// What the fmt layer printed.
#[derive(Clone, Default)]
struct Printed(Arc<Mutex<Vec<u8>>>);

impl Printed {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Printed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install() -> (Telemetry, Collected, Printed) {
    let (exporter, collected) = TestExporter::new();
    let telemetry = instrument_runtime::builder()
        .exporter(exporter)
        .install()
        .expect("install");
    let printed = Printed::default();
    let writer = printed.clone();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info,noisy=warn"))
        .with(layer())
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .event_format(WithTraceIds::default())
                .with_writer(move || writer.clone()),
        );
    tracing::subscriber::set_global_default(subscriber).expect("global subscriber");
    (telemetry, collected, printed)
}

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "expected one `{name}` span in {spans:#?}");
    found[0]
}

fn attr<'a>(attrs: &'a [instrument_runtime::export::KeyValue], key: &str) -> Option<&'a Value> {
    attrs.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
}

fn log_with_body<'a>(logs: &'a [LogData], body: &str) -> &'a LogData {
    let found: Vec<_> = logs.iter().filter(|l| l.body == body).collect();
    assert_eq!(found.len(), 1, "expected one log `{body}` in {logs:#?}");
    found[0]
}

#[instrument]
fn ours_inside() -> SpanContext {
    tracing::info!(rows = 3u64, table = "users", "query done");
    current_span_context().unwrap()
}

#[instrument]
fn outer() -> (SpanContext, SpanContext) {
    let outer_ctx = current_span_context().unwrap();
    let span = tracing::info_span!(
        "db.query",
        db.system = "postgres",
        db.rows = tracing::field::Empty,
        otel.kind = "client"
    );
    let inner_ctx = span.in_scope(|| {
        span.record("db.rows", 42);
        ours_inside()
    });
    assert_eq!(
        current_span_context(),
        Some(outer_ctx),
        "exit restored our span"
    );
    (outer_ctx, inner_ctx)
}

#[test]
fn tracing_spans_and_events_join_our_trace() {
    isolated("tracing_spans_and_events_join_our_trace", T, || {
        let (telemetry, c, printed) = install();
        let (outer_ctx, inner_ctx) = outer();
        let line = line!() + 1;
        tracing::warn!(code = 7i64, ok = true, "outside any span");
        tracing::debug!("filtered out by the EnvFilter");
        tracing::warn!(target: "noisy", "kept: warn passes noisy=warn");
        tracing::info!(target: "noisy", "filtered: info under noisy=warn");
        assert!(telemetry.flush(T).completed);

        let spans = c.spans();
        assert_eq!(spans.len(), 3, "{spans:#?}");
        let o = one(&spans, "outer");
        let q = one(&spans, "db.query");
        let i = one(&spans, "ours_inside");
        assert_eq!(o.span_id, outer_ctx.span_id);
        assert_eq!(
            q.parent_span_id,
            Some(o.span_id),
            "tracing span is a child of ours"
        );
        assert_eq!(
            i.parent_span_id,
            Some(q.span_id),
            "ours is a child of the tracing span"
        );
        assert_eq!(i.span_id, inner_ctx.span_id);
        assert!(q.trace_id == o.trace_id && i.trace_id == o.trace_id);
        assert_eq!(
            attr(&q.attributes, "db.system"),
            Some(&Value::from("postgres"))
        );
        assert_eq!(
            attr(&q.attributes, "db.rows"),
            Some(&Value::I64(42)),
            "recorded later"
        );
        assert_eq!(q.kind, SpanKind::Client);
        assert!(q.start_unix_nanos >= o.start_unix_nanos && q.end_unix_nanos <= o.end_unix_nanos);
        assert!(i.start_unix_nanos >= q.start_unix_nanos && i.end_unix_nanos <= q.end_unix_nanos);
        assert_eq!(q.level, Level::Info);
        assert!(q.file.ends_with("tracing_bridge.rs"));

        let logs = c.logs();
        assert_eq!(logs.len(), 3, "{logs:#?}");
        let done = log_with_body(&logs, "query done");
        assert_eq!(done.trace_id, Some(o.trace_id));
        assert_eq!(done.span_id, Some(i.span_id));
        assert_eq!(done.level, Level::Info);
        assert_eq!(attr(&done.attributes, "rows"), Some(&Value::I64(3)));
        assert_eq!(attr(&done.attributes, "table"), Some(&Value::from("users")));
        assert_eq!(
            done.attributes.len(),
            2,
            "message is the body, not an attribute"
        );
        assert_eq!(done.target, module_path!());
        let outside = log_with_body(&logs, "outside any span");
        assert_eq!(outside.trace_id, None);
        assert_eq!(outside.level, Level::Warn);
        assert_eq!(outside.line, Some(line));
        assert!(outside
            .file
            .as_deref()
            .unwrap()
            .ends_with("tracing_bridge.rs"));
        assert_eq!(attr(&outside.attributes, "code"), Some(&Value::I64(7)));
        assert_eq!(attr(&outside.attributes, "ok"), Some(&Value::Bool(true)));
        assert_eq!(
            log_with_body(&logs, "kept: warn passes noisy=warn").target,
            "noisy"
        );

        // The fmt layer printed the same events, with our ids.
        let text = printed.text();
        assert_eq!(text.lines().count(), 3, "{text}");
        let done_line = text.lines().find(|l| l.contains("query done")).unwrap();
        assert!(
            done_line.starts_with(&format!("trace_id={} span_id={} ", o.trace_id, i.span_id)),
            "{done_line}"
        );
        assert!(done_line.contains("rows=3"), "{done_line}");
        let outside_line = text
            .lines()
            .find(|l| l.contains("outside any span"))
            .unwrap();
        assert!(!outside_line.contains("trace_id="), "{outside_line}");
    });
}

#[instrument]
async fn leaf_async() -> u32 {
    tokio::task::yield_now().await;
    tracing::info!(step = 1u64, "in leaf");
    1
}

#[test]
fn tracing_instrument_carries_the_span_across_await() {
    isolated(
        "tracing_instrument_carries_the_span_across_await",
        T,
        || {
            let (telemetry, c, _printed) = install();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let producer = tracing::info_span!("producer");
            let producer_id = producer.id();
            rt.block_on(async {
                let tasks: Vec<_> = (0..4)
                    .map(|n| {
                        let span = tracing::info_span!("request", n);
                        span.follows_from(producer_id.clone());
                        // Spelled out: with `tracing::Instrument` imported, `#[instrument]`'s
                        // expansion picks that trait's `instrument` (see the report).
                        tokio::spawn(tracing::Instrument::instrument(
                            async move {
                                let a = leaf_async().await;
                                tokio::task::yield_now().await;
                                current_span().record("late.handle", true);
                                a + leaf_async().await
                            },
                            span,
                        ))
                    })
                    .collect();
                for t in tasks {
                    assert_eq!(t.await.unwrap(), 2);
                }
            });
            drop(producer);
            assert!(telemetry.flush(T).completed);
            let spans = c.spans();
            assert_eq!(spans.len(), 4 + 8 + 1, "{spans:#?}");
            let p = one(&spans, "producer");
            let requests: Vec<_> = spans.iter().filter(|s| s.name == "request").collect();
            assert_eq!(requests.len(), 4);
            for r in &requests {
                assert_eq!(attr(&r.attributes, "late.handle"), Some(&Value::Bool(true)));
                assert_eq!(r.links.len(), 1);
                assert_eq!(r.links[0].span_id, p.span_id);
                let kids: Vec<_> = spans
                    .iter()
                    .filter(|s| s.parent_span_id == Some(r.span_id))
                    .collect();
                assert_eq!(
                    kids.len(),
                    2,
                    "both leaf calls are children of their request"
                );
                assert!(kids
                    .iter()
                    .all(|k| k.name == "leaf_async" && k.trace_id == r.trace_id));
            }
            let logs = c.logs();
            assert_eq!(logs.len(), 8);
            for l in &logs {
                let s = spans.iter().find(|s| Some(s.span_id) == l.span_id).unwrap();
                assert_eq!(s.name, "leaf_async");
            }
        },
    );
}

#[instrument]
fn logs_with_log_crate() {
    let _g = tracing::info_span!("lib").entered();
    log::info!(user = 5; "from log");
}

#[test]
fn our_log_records_keep_their_ids_with_a_subscriber() {
    isolated(
        "our_log_records_keep_their_ids_with_a_subscriber",
        T,
        || {
            let (telemetry, c, _printed) = install();
            logs_with_log_crate();
            assert!(telemetry.flush(T).completed);
            let spans = c.spans();
            let lib = one(&spans, "lib");
            let logs = c.logs();
            assert_eq!(logs.len(), 1, "{logs:#?}");
            assert_eq!(logs[0].span_id, Some(lib.span_id));
            assert_eq!(logs[0].trace_id, Some(lib.trace_id));
            assert_eq!(attr(&logs[0].attributes, "user"), Some(&Value::I64(5)));
        },
    );
}

#[test]
fn unsampled_tracing_spans_export_nothing_but_keep_the_context() {
    isolated(
        "unsampled_tracing_spans_export_nothing_but_keep_the_context",
        T,
        || {
            let (exporter, c) = TestExporter::new();
            let telemetry = instrument_runtime::builder()
                .exporter(exporter)
                .sample_ratio(0.0)
                .install()
                .unwrap();
            let subscriber = tracing_subscriber::registry().with(layer());
            tracing::subscriber::set_global_default(subscriber).unwrap();
            let span = tracing::info_span!("lib", n = tracing::field::Empty);
            let (outer, inner) = span.in_scope(|| {
                span.record("n", 1);
                (current_span_context().unwrap(), ours_inside())
            });
            assert!(!outer.is_sampled());
            assert_eq!(inner.trace_id, outer.trace_id, "same trace, unsampled");
            assert!(current_span_context().is_none());
            drop(span);
            assert!(telemetry.flush(T).completed);
            assert!(c.spans().is_empty(), "{:#?}", c.spans());
        },
    );
}

#[instrument]
fn logs_through_log_tracer() -> (SpanContext, u32) {
    let line = line!() + 1;
    log::warn!(target: "legacy", "from a log user");
    (current_span_context().unwrap(), line)
}

/// `tracing-log`'s `LogTracer` took the `log` logger first (what `fmt().init()` does): `log`
/// records reach the bridge as `tracing` events and still carry our ids and their origin.
#[test]
fn log_records_through_log_tracer_keep_ids_and_origin() {
    isolated(
        "log_records_through_log_tracer_keep_ids_and_origin",
        T,
        || {
            tracing_log::LogTracer::init().unwrap();
            let (exporter, c) = TestExporter::new();
            let telemetry = instrument_runtime::builder()
                .exporter(exporter)
                .install()
                .unwrap();
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer()))
                .unwrap();
            let (ctx, line) = logs_through_log_tracer();
            assert!(telemetry.flush(T).completed);
            let logs = c.logs();
            assert_eq!(logs.len(), 1, "{logs:#?}");
            let l = &logs[0];
            assert_eq!(l.body, "from a log user");
            assert_eq!(l.span_id, Some(ctx.span_id));
            assert_eq!(l.trace_id, Some(ctx.trace_id));
            assert_eq!(l.target, "legacy");
            assert_eq!(l.level, Level::Warn);
            assert_eq!(l.line, Some(line), "the log call's line, not tracing-log's");
            assert!(attr(&l.attributes, "code.file.path").is_some());
            assert!(l.attributes.iter().all(|kv| !kv.key.starts_with("log.")));
        },
    );
}

/// A field whose `Debug` emits an event under the span being recorded.
struct Noisy(tracing::Span);

impl std::fmt::Debug for Noisy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        tracing::info!(parent: &self.0, "from debug");
        f.write_str("noisy")
    }
}

#[test]
fn a_field_debug_that_emits_an_event_does_not_deadlock() {
    isolated(
        "a_field_debug_that_emits_an_event_does_not_deadlock",
        Duration::from_secs(20),
        || {
            // The bridge alone: tracing-subscriber's fmt layer itself formats recorded fields
            // with the span's extensions locked, so next to it this case deadlocks anyway.
            let (exporter, c) = TestExporter::new();
            let telemetry = instrument_runtime::builder()
                .exporter(exporter)
                .install()
                .unwrap();
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer()))
                .unwrap();
            let span = tracing::info_span!("s", x = tracing::field::Empty);
            span.record("x", tracing::field::debug(Noisy(span.clone())));
            drop(span);
            assert!(telemetry.flush(T).completed);
            let spans = c.spans();
            let s = one(&spans, "s");
            assert_eq!(attr(&s.attributes, "x"), Some(&Value::from("noisy")));
            let logs = c.logs();
            assert_eq!(logs.len(), 1);
            assert_eq!(logs[0].span_id, Some(s.span_id));
        },
    );
}

/// A field whose `Debug` emits an event (made while the first event is being encoded).
struct Chatty;

impl std::fmt::Debug for Chatty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        tracing::warn!(depth = 2i64, "nested");
        f.write_str("chatty")
    }
}

#[derive(Debug)]
struct Failure;

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk full")
    }
}

impl std::error::Error for Failure {}

#[test]
fn event_fields_of_every_type_and_size_are_kept_exactly() {
    isolated(
        "event_fields_of_every_type_and_size_are_kept_exactly",
        T,
        || {
            let (exporter, c) = TestExporter::new();
            let telemetry = instrument_runtime::builder()
                .exporter(exporter)
                .sample_ratio(1.0)
                .install()
                .unwrap();
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer()))
                .unwrap();
            let big = "b".repeat(1000);
            let ctx = {
                let _s = instrument_runtime::span("around").entered();
                let err: &(dyn std::error::Error + 'static) = &Failure;
                tracing::info!(
                    small = 1u64,
                    huge = u64::MAX,
                    neg = -5i64,
                    ratio = 0.5f64,
                    flag = false,
                    text = "short",
                    dbg = ?[1, 2],
                    err,
                    "inline {}", 7
                );
                // Beyond what fits inline (456 bytes) and within the value length limit: the
                // boxed fallback, still whole.
                tracing::info!(long = big.as_str(), "large");
                tracing::info!(who = ?Chatty, "outer");
                current_span_context().expect("a current span")
            };
            assert!(telemetry.flush(T).completed);
            let logs = c.logs();
            assert_eq!(logs.len(), 4, "{logs:#?}");
            let l = log_with_body(&logs, "inline 7");
            assert_eq!(l.span_id, Some(ctx.span_id));
            assert_eq!(l.trace_id, Some(ctx.trace_id));
            assert_eq!(l.level, Level::Info);
            assert_eq!(l.target, module_path!());
            assert!(l
                .file
                .as_deref()
                .is_some_and(|f| f.ends_with("tracing_bridge.rs")));
            let keys: Vec<&str> = l.attributes.iter().map(|kv| &*kv.key).collect();
            assert_eq!(
                keys,
                ["small", "huge", "neg", "ratio", "flag", "text", "dbg", "err"]
            );
            assert_eq!(attr(&l.attributes, "small"), Some(&Value::I64(1)));
            assert_eq!(
                attr(&l.attributes, "huge"),
                Some(&Value::from(u64::MAX.to_string()))
            );
            assert_eq!(attr(&l.attributes, "neg"), Some(&Value::I64(-5)));
            assert_eq!(attr(&l.attributes, "ratio"), Some(&Value::F64(0.5)));
            assert_eq!(attr(&l.attributes, "flag"), Some(&Value::Bool(false)));
            assert_eq!(attr(&l.attributes, "text"), Some(&Value::from("short")));
            assert_eq!(attr(&l.attributes, "dbg"), Some(&Value::from("[1, 2]")));
            assert_eq!(attr(&l.attributes, "err"), Some(&Value::from("disk full")));
            let large = log_with_body(&logs, "large");
            assert_eq!(attr(&large.attributes, "long"), Some(&Value::from(big)));
            let outer = log_with_body(&logs, "outer");
            assert_eq!(attr(&outer.attributes, "who"), Some(&Value::from("chatty")));
            let nested = log_with_body(&logs, "nested");
            assert_eq!(nested.level, Level::Warn);
            assert_eq!(attr(&nested.attributes, "depth"), Some(&Value::I64(2)));
            assert_eq!(nested.span_id, Some(ctx.span_id));
            let s = telemetry.stats().logs;
            assert_eq!((s.emitted, s.exported, s.dropped_total()), (4, 4, 0));
        },
    );
}
