//! The span handle and manual spans, from the outside: late fields, events, status, links and
//! kind on `#[instrument]` spans and manual spans, in sync and async code; limits; the
//! unsampled path records nothing.

use std::time::Duration;

use instrument_runtime::context::handle::{MAX_EVENT_ATTRIBUTES, MAX_SPAN_ATTRIBUTES};
use instrument_runtime::export::{SpanData, SpanStatus, Value};
use instrument_runtime::testing::{Collected, TestExporter};
use instrument_runtime::{
    current_span, current_span_context, debug, display, instrument, span, SpanKind, Telemetry,
};
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(30);

fn install(ratio: f64) -> (Telemetry, Collected) {
    let (exporter, collected) = TestExporter::new();
    let telemetry = instrument_runtime::builder()
        .sample_ratio(ratio)
        .exporter(exporter)
        .install()
        .expect("install");
    (telemetry, collected)
}

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "expected one `{name}` span in {spans:#?}");
    found[0]
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    let found: Vec<_> = span.attributes.iter().filter(|kv| kv.key == key).collect();
    assert!(found.len() <= 1, "key {key} twice in {:?}", span.attributes);
    found.first().map(|kv| &kv.value)
}

#[instrument]
fn handler(id: u32) -> u32 {
    let s = current_span();
    s.record("user.id", id);
    s.record("user.id", id + 1); // a key recorded again keeps the last value
    s.record("cache", display(&"miss"));
    s.record(String::from("dynamic.key"), debug(&Some(3)));
    s.add_event("retry", &[("attempt", &2), ("reason", &"timeout")]);
    s.set_kind(SpanKind::Server);
    s.set_error(&"backend down");
    inner();
    id
}

#[instrument]
fn inner() {
    current_span().set_status(SpanStatus::Ok);
}

#[test]
fn current_span_records_late_fields_events_status_and_kind() {
    isolated(
        "current_span_records_late_fields_events_status_and_kind",
        T,
        || {
            let (telemetry, c) = install(1.0);
            assert_eq!(handler(7), 7);
            // No span current: the handle is inert.
            current_span().record("nowhere", 1);
            assert!(current_span().context().is_none());
            assert!(telemetry.flush(T).completed);
            let spans = c.spans();
            assert_eq!(spans.len(), 2, "{spans:#?}");
            let h = one(&spans, "handler");
            assert_eq!(attr(h, "user.id"), Some(&Value::I64(8)));
            assert_eq!(attr(h, "cache"), Some(&Value::from("miss")));
            assert_eq!(attr(h, "dynamic.key"), Some(&Value::from("Some(3)")));
            assert_eq!(h.kind, SpanKind::Server);
            assert_eq!(
                h.status,
                SpanStatus::Error {
                    message: "backend down".into()
                }
            );
            assert_eq!(h.events.len(), 1);
            let e = &h.events[0];
            assert_eq!(e.name, "retry");
            assert_eq!(e.attributes.len(), 2);
            assert_eq!(e.attributes[0].value, Value::I64(2));
            assert!(e.timestamp_unix_nanos >= h.start_unix_nanos);
            assert!(e.timestamp_unix_nanos <= h.end_unix_nanos);
            let i = one(&spans, "inner");
            assert_eq!(i.status, SpanStatus::Ok);
            assert_eq!(i.kind, SpanKind::Internal);
            assert!(i.events.is_empty() && i.attributes.is_empty());
        },
    );
}

#[instrument]
fn leaf() {}

#[test]
fn manual_guard_closure_links_and_kind() {
    isolated("manual_guard_closure_links_and_kind", T, || {
        let (telemetry, c) = install(1.0);
        let producer_ctx;
        let line = line!() + 2;
        {
            let mut s = span("produce")
                .kind(SpanKind::Producer)
                .attr("items", 3)
                .entered();
            producer_ctx = s.context();
            assert_eq!(current_span_context(), Some(producer_ctx));
            leaf(); // child of the guard's span
            current_span().record("late", true); // through the handle
            s.add_event("sent", &[]);
        }
        assert!(
            current_span_context().is_none(),
            "guard restored the previous span"
        );
        let v = span("consume")
            .kind(SpanKind::Consumer)
            .root()
            .follows_from(producer_ctx)
            .in_scope(|| {
                leaf();
                5
            });
        assert_eq!(v, 5);
        assert!(telemetry.flush(T).completed);
        let spans = c.spans();
        assert_eq!(spans.len(), 4, "{spans:#?}");
        let p = one(&spans, "produce");
        assert_eq!(p.kind, SpanKind::Producer);
        assert_eq!(attr(p, "items"), Some(&Value::I64(3)));
        assert_eq!(attr(p, "late"), Some(&Value::Bool(true)));
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.line, line, "file and line are the caller's");
        assert!(p.file.ends_with("span_handle.rs"));
        let consume = one(&spans, "consume");
        assert_eq!(consume.kind, SpanKind::Consumer);
        assert_ne!(consume.trace_id, p.trace_id, "root() starts a new trace");
        assert_eq!(consume.links.len(), 1);
        assert_eq!(consume.links[0].span_id, p.span_id);
        assert_eq!(consume.links[0].trace_id, p.trace_id);
        let leaves: Vec<_> = spans.iter().filter(|s| s.name == "leaf").collect();
        assert_eq!(leaves.len(), 2);
        let parents: Vec<_> = leaves.iter().map(|l| l.parent_span_id).collect();
        assert!(parents.contains(&Some(p.span_id)));
        assert!(parents.contains(&Some(consume.span_id)));
    });
}

#[instrument]
async fn fetch() -> u32 {
    tokio::task::yield_now().await;
    current_span().record("after.await", 1);
    1
}

#[test]
fn async_manual_span_follows_the_future() {
    isolated("async_manual_span_follows_the_future", T, || {
        let (telemetry, c) = install(1.0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let job = span("job").kind(SpanKind::Client).instrument(async {
                let a = fetch().await;
                tokio::task::yield_now().await;
                current_span().add_event("halfway", &[("n", &a)]);
                a + fetch().await
            });
            // Another task interleaved on the same thread never sees the job's span.
            let other = tokio::spawn(async {
                for _ in 0..3 {
                    assert!(current_span_context().is_none());
                    tokio::task::yield_now().await;
                }
            });
            assert_eq!(job.await, 2);
            other.await.unwrap();
            // Dropped before completion: ends as cancelled.
            let never = span("never").instrument(std::future::pending::<()>());
            let _ = tokio::time::timeout(Duration::from_millis(5), never).await;
        });
        assert!(telemetry.flush(T).completed);
        let spans = c.spans();
        assert_eq!(spans.len(), 4, "{spans:#?}");
        let job = one(&spans, "job");
        assert_eq!(job.kind, SpanKind::Client);
        assert_eq!(job.events.len(), 1);
        assert_eq!(job.events[0].attributes[0].value, Value::I64(1));
        let fetches: Vec<_> = spans.iter().filter(|s| s.name == "fetch").collect();
        assert_eq!(fetches.len(), 2);
        for f in fetches {
            assert_eq!(f.parent_span_id, Some(job.span_id));
            assert_eq!(attr(f, "after.await"), Some(&Value::I64(1)));
        }
        let never = one(&spans, "never");
        assert_eq!(
            attr(never, "instrument.cancelled"),
            Some(&Value::Bool(true))
        );
    });
}

#[test]
fn limits_are_enforced_and_counted() {
    isolated("limits_are_enforced_and_counted", T, || {
        let (telemetry, c) = install(1.0);
        {
            let mut s = span("big").entered();
            for i in 0..(MAX_SPAN_ATTRIBUTES + 10) {
                s.record(format!("k{i}"), i);
            }
            let handle = current_span();
            for i in 0..(MAX_SPAN_ATTRIBUTES + 5) {
                handle.record(format!("k{i}"), 0); // existing keys: replaced, not dropped
            }
            let many: Vec<(&'static str, &dyn instrument_runtime::FieldValue)> = (0
                ..MAX_EVENT_ATTRIBUTES + 3)
                .map(|_| ("a", &1 as _))
                .collect();
            for _ in 0..130 {
                handle.add_event("e", &many);
            }
            for _ in 0..129 {
                handle.follows_from(s.context());
            }
        }
        assert!(telemetry.flush(T).completed);
        let spans = c.spans();
        let big = one(&spans, "big");
        assert_eq!(big.attributes.len(), MAX_SPAN_ATTRIBUTES);
        // 10 new keys refused by the guard, 5 more by the handle's merge.
        assert_eq!(big.dropped.attributes, 15);
        assert_eq!(attr(big, "k0"), Some(&Value::I64(0)));
        assert_eq!(big.events.len(), 128);
        assert_eq!(big.dropped.events, 2);
        assert_eq!(big.events[0].attributes.len(), MAX_EVENT_ATTRIBUTES);
        assert_eq!(big.events[0].dropped_attributes_count, 3);
        assert_eq!(big.links.len(), 128);
        assert_eq!(big.dropped.links, 1);
    });
}

#[test]
fn unsampled_spans_record_nothing() {
    isolated("unsampled_spans_record_nothing", T, || {
        let (telemetry, c) = install(0.0);
        struct Panics;
        impl std::fmt::Display for Panics {
            fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                panic!("formatted although unsampled")
            }
        }
        {
            let mut s = span("unsampled").attr("x", display(Panics)).entered();
            assert!(!s.is_sampled());
            s.record("y", display(Panics));
            current_span().record("z", display(Panics));
            current_span().add_event("e", &[("v", &display(Panics))]);
            current_span().set_error(&Panics);
            assert!(
                current_span().context().is_some(),
                "unsampled spans still have ids"
            );
        }
        assert_eq!(handler(1), 1);
        assert!(telemetry.flush(T).completed);
        assert!(c.spans().is_empty(), "{:#?}", c.spans());
    });
}

#[instrument(kind = "server")]
fn serve() {}

#[instrument(kind = "consumer")]
async fn consume_one() {}

#[test]
fn kind_in_the_attribute() {
    isolated("kind_in_the_attribute", T, || {
        let (telemetry, c) = install(1.0);
        serve();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(consume_one());
        assert!(telemetry.flush(T).completed);
        let spans = c.spans();
        assert_eq!(one(&spans, "serve").kind, SpanKind::Server);
        assert_eq!(one(&spans, "consume_one").kind, SpanKind::Consumer);
    });
}

/// A writer shared with the test.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn stdout_json_shows_kind_events_links_and_dropped() {
    isolated("stdout_json_shows_kind_events_links_and_dropped", T, || {
        use instrument_runtime::export::stdout::{StdoutExporter, StdoutMode};
        let out = Shared::default();
        let telemetry = instrument_runtime::builder()
            .exporter(StdoutExporter::with_writer(out.clone(), StdoutMode::Json))
            .install()
            .unwrap();
        let first = span("first").start();
        let first_ctx = first.context();
        first.end();
        {
            let mut s = span("second")
                .kind(SpanKind::Client)
                .follows_from(first_ctx)
                .entered();
            s.add_event("sent", &[("bytes", &10)]);
            for _ in 0..(instrument_runtime::context::handle::MAX_SPAN_LINKS) {
                s.follows_from(first_ctx);
            }
        }
        assert!(telemetry.flush(T).completed);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|v: &serde_json::Value| v["kind"] == "span")
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first = lines.iter().find(|l| l["name"] == "first").unwrap();
        assert!(first.get("span_kind").is_none() && first.get("events").is_none());
        let second = lines.iter().find(|l| l["name"] == "second").unwrap();
        assert_eq!(second["span_kind"], "client");
        assert_eq!(second["events"][0]["name"], "sent");
        assert_eq!(second["events"][0]["attributes"]["bytes"], 10);
        assert_eq!(second["links"].as_array().unwrap().len(), 128);
        assert_eq!(second["links"][0]["span_id"], first["span_id"]);
        assert_eq!(second["dropped"]["links"], 1);
        assert_eq!(second["dropped"]["events"], 0);
    });
}
