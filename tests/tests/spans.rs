//! Span trees, parent links across sync calls, `.await` and tasks, and context isolation
//! between tasks interleaved on one thread.

use std::time::Duration;

use instrument_runtime::export::{SpanData, SpanStatus};
use instrument_runtime::testing::{Collected, TestExporter};
use instrument_runtime::{current_span_context, instrument, SpanContext, Telemetry};
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(30);

fn install() -> (Telemetry, Collected) {
    let (exporter, collected) = TestExporter::new();
    let telemetry = instrument_runtime::builder()
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

#[instrument]
fn leaf(x: u32) -> u32 {
    x + 1
}

#[instrument(name = "middle_custom", fields(x))]
fn middle(x: u32) -> u32 {
    leaf(x) + leaf(x)
}

#[instrument]
fn root() -> u32 {
    middle(1)
}

#[test]
fn sync_tree_has_parent_links() {
    isolated("sync_tree_has_parent_links", T, || {
        let (telemetry, c) = install();
        assert_eq!(root(), 4);
        assert!(telemetry.flush(T).completed);
        let spans = c.spans();
        assert_eq!(spans.len(), 4, "{spans:#?}");
        let r = one(&spans, "root");
        let m = one(&spans, "middle_custom");
        assert_eq!(r.parent_span_id, None);
        assert_eq!(m.parent_span_id, Some(r.span_id));
        let leaves: Vec<_> = spans.iter().filter(|s| s.name == "leaf").collect();
        assert_eq!(leaves.len(), 2);
        for l in &leaves {
            assert_eq!(l.parent_span_id, Some(m.span_id));
            assert_eq!(l.trace_id, r.trace_id);
            assert!(l.start_unix_nanos >= m.start_unix_nanos);
            assert!(l.end_unix_nanos <= m.end_unix_nanos);
        }
        assert_ne!(leaves[0].span_id, leaves[1].span_id);
        assert_eq!(m.attributes.len(), 1);
        assert_eq!(m.attributes[0].key, "x");
        assert_eq!(m.trace_flags, 1);
        assert_eq!(r.trace_id.to_string().len(), 32);
        assert_eq!(r.span_id.to_string().len(), 16);
        assert!(
            current_span_context().is_none(),
            "context restored after the root"
        );
    });
}

#[instrument]
async fn async_leaf() -> SpanContext {
    tokio::task::yield_now().await;
    current_span_context().expect("inside a span")
}

#[instrument]
async fn async_parent() -> (SpanContext, SpanContext, SpanContext) {
    let before = current_span_context().expect("inside a span");
    let child = async_leaf().await;
    tokio::task::yield_now().await;
    let after = current_span_context().expect("inside a span");
    assert_eq!(before, after, "context survives .await");
    let sync_child = leaf_ctx();
    assert_eq!(sync_child.trace_id, before.trace_id);
    (before, child, sync_child)
}

#[instrument]
fn leaf_ctx() -> SpanContext {
    current_span_context().expect("inside a span")
}

#[test]
fn async_tree_across_await() {
    isolated("async_tree_across_await", T, || {
        let (telemetry, c) = install();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (parent, child, sync_child) = rt.block_on(async_parent());
        assert!(telemetry.flush(T).completed);
        let spans = c.spans();
        let p = one(&spans, "async_parent");
        let l = one(&spans, "async_leaf");
        let s = one(&spans, "leaf_ctx");
        assert_eq!(p.span_id, parent.span_id);
        assert_eq!(l.span_id, child.span_id);
        assert_eq!(l.parent_span_id, Some(p.span_id));
        assert_eq!(s.span_id, sync_child.span_id);
        assert_eq!(s.parent_span_id, Some(p.span_id));
        assert!(current_span_context().is_none());
    });
}

#[instrument(fields(task))]
async fn task_body(task: u32, rounds: u32) -> Vec<(u32, SpanContext)> {
    let own = current_span_context().expect("inside a span");
    let mut seen = Vec::new();
    for _ in 0..rounds {
        tokio::task::yield_now().await;
        seen.push((task, current_span_context().expect("inside a span")));
        assert_eq!(
            current_span_context(),
            Some(own),
            "task {task} saw another task's span"
        );
        seen.push((task, inner(task).await));
    }
    seen
}

#[instrument]
async fn inner(task: u32) -> SpanContext {
    let _ = task;
    tokio::task::yield_now().await;
    current_span_context().expect("inside a span")
}

#[test]
fn interleaved_tasks_never_see_each_other() {
    isolated("interleaved_tasks_never_see_each_other", T, || {
        let (telemetry, c) = install();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let results = rt.block_on(async {
            let handles: Vec<_> = (0..4).map(|t| tokio::spawn(task_body(t, 5))).collect();
            let mut all = Vec::new();
            for h in handles {
                all.push(h.await.unwrap());
            }
            // Between polls of the tasks, this (outer) task has no span.
            assert!(current_span_context().is_none());
            all
        });
        assert!(telemetry.flush(T).completed);
        let spans = c.spans();
        let roots: Vec<_> = spans.iter().filter(|s| s.name == "task_body").collect();
        assert_eq!(roots.len(), 4);
        let traces: std::collections::HashSet<_> = roots.iter().map(|s| s.trace_id).collect();
        assert_eq!(traces.len(), 4, "each spawned task is its own trace");
        for s in spans.iter().filter(|s| s.name == "inner") {
            let parent = roots
                .iter()
                .find(|r| Some(r.span_id) == s.parent_span_id)
                .expect("inner's parent is a task_body span");
            assert_eq!(parent.trace_id, s.trace_id);
        }
        assert_eq!(spans.iter().filter(|s| s.name == "inner").count(), 20);
        for (task, seen) in results.iter().enumerate() {
            let root = roots
                .iter()
                .find(|r| {
                    r.attributes[0].value == instrument_runtime::export::Value::I64(task as i64)
                })
                .unwrap();
            assert!(seen.iter().all(|(_, ctx)| ctx.trace_id == root.trace_id));
        }
    });
}

#[derive(Debug)]
struct Boom;
impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom \"quoted\"")
    }
}

#[instrument(err, ret)]
fn fails(fail: bool) -> Result<u8, Boom> {
    if fail {
        Err(Boom)
    } else {
        Ok(7)
    }
}

#[instrument]
fn panics() {
    panic!("user bug");
}

#[test]
fn error_and_panic_status() {
    isolated("error_and_panic_status", T, || {
        let (telemetry, c) = install();
        assert!(fails(true).is_err());
        assert!(fails(false).is_ok());
        let caught = std::panic::catch_unwind(panics);
        assert!(caught.is_err());
        assert!(
            current_span_context().is_none(),
            "a panic restores the context"
        );
        assert_eq!(leaf(1), 2, "the pipeline still works after a panic");
        assert!(telemetry.flush(T).completed);
        let spans = c.spans_named("fails");
        assert_eq!(spans.len(), 2);
        let err = spans
            .iter()
            .find(|s| s.status != SpanStatus::Unset)
            .unwrap();
        assert_eq!(
            err.status,
            SpanStatus::Error {
                message: "boom \"quoted\"".into()
            }
        );
        let ok = spans
            .iter()
            .find(|s| s.status == SpanStatus::Unset)
            .unwrap();
        assert!(
            ok.attributes
                .iter()
                .any(|kv| kv.key == "return" && kv.value.to_string() == "7"),
            "with `err`, `ret` records the Ok value"
        );
        let p = one(&c.spans(), "panics").clone();
        assert_eq!(
            p.status,
            SpanStatus::Error {
                message: "panicked".into()
            }
        );
        assert_eq!(c.call_count("panics", "error"), 1);
        assert_eq!(c.call_count("fails", "error"), 1);
        assert_eq!(c.call_count("fails", "ok"), 1);
        // `err` emitted an ERROR log record carrying the failed span's ids.
        let logs = c.logs();
        let log = logs.iter().find(|l| l.body == "boom \"quoted\"").unwrap();
        assert_eq!(log.level, instrument_runtime::Level::Error);
        assert_eq!(log.trace_id, Some(err.trace_id));
        assert_eq!(log.span_id, Some(err.span_id));
    });
}

#[instrument]
async fn cancelled_body() {
    std::future::pending::<()>().await;
}

#[test]
fn cancelled_future_closes_its_span() {
    isolated("cancelled_future_closes_its_span", T, || {
        let (telemetry, c) = install();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let r = tokio::time::timeout(Duration::from_millis(5), cancelled_body()).await;
            assert!(r.is_err());
        });
        assert!(telemetry.flush(T).completed);
        let s = one(&c.spans(), "cancelled_body").clone();
        assert!(s
            .attributes
            .iter()
            .any(|kv| kv.key == "instrument.cancelled"));
        assert_eq!(c.call_count("cancelled_body", "ok"), 1);
    });
}

#[test]
fn spawned_work_keeps_parent_with_in_current_span() {
    use instrument_runtime::FutureExt;
    isolated("spawned_work_keeps_parent_with_in_current_span", T, || {
        #[instrument]
        async fn spawner() -> SpanContext {
            let me = current_span_context().unwrap();
            tokio::spawn(async_leaf().in_current_span()).await.unwrap();
            me
        }
        let (telemetry, c) = install();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let parent = rt.block_on(spawner());
        assert!(telemetry.flush(T).completed);
        let l = one(&c.spans(), "async_leaf").clone();
        assert_eq!(l.parent_span_id, Some(parent.span_id));
        assert_eq!(l.trace_id, parent.trace_id);
    });
}
