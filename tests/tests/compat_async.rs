//! Functions that return a future they build are instrumented as the future, not its creation
//! (issue 10): `#[async_trait]` methods (both expansion forms async-trait has produced), `->
//! impl Future` returning an `async move` block, and `-> Pin<Box<dyn Future>>` returning
//! `Box::pin(async move ..)`. For each: the span's duration covers the await, log records made
//! inside carry its span id, spans opened inside are its children, and `err` sees the output.
//!
//! Every test in this binary shares one process-global pipeline; each calls only its own
//! functions and reads only their spans.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use instrument_runtime::export::{SpanData, SpanStatus, Value};
use instrument_runtime::testing::{Collected, TestExporter};
use instrument_runtime::{instrument, Level, Telemetry, CALLS_TOTAL};

const T: Duration = Duration::from_secs(30);
const WORK: Duration = Duration::from_millis(20);

fn pipeline() -> &'static (Telemetry, Collected) {
    static PIPELINE: OnceLock<(Telemetry, Collected)> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let (exporter, collected) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .sample_ratio(1.0)
            .install()
            .expect("install the test pipeline");
        (telemetry, collected)
    })
}

fn flush() -> &'static Collected {
    let (telemetry, collected) = pipeline();
    assert!(telemetry.flush(T).completed, "flush did not complete");
    collected
}

fn one_span(name: &str) -> SpanData {
    let spans = flush().spans_named(name);
    assert_eq!(spans.len(), 1, "spans named {name}: {spans:#?}");
    spans.into_iter().next().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// `function_calls_total{function, result}` from the latest snapshot.
fn calls(function: &str, result: &str) -> u64 {
    flush().call_count(function, result)
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| &kv.value)
}

/// Checks what every shape must give: the span covers the 20 ms of work, the log record made
/// inside carries its ids, the child span is its child, and the `Err` output failed it.
fn check_instrumented(name: &str, child: &str, log_text: &str) {
    let span = one_span(name);
    assert!(
        span.duration_nanos() >= WORK.as_nanos() as u64,
        "{name}: {} ns does not cover the {WORK:?} awaited",
        span.duration_nanos()
    );
    let child = one_span(child);
    assert_eq!(child.parent_span_id, Some(span.span_id), "{child:#?}");
    assert_eq!(child.trace_id, span.trace_id);
    let logs: Vec<_> = flush()
        .logs()
        .into_iter()
        .filter(|l| l.body == log_text)
        .collect();
    assert_eq!(logs.len(), 1, "{logs:#?}");
    assert_eq!(logs[0].span_id, Some(span.span_id));
    assert_eq!(logs[0].trace_id, Some(span.trace_id));
    // `err` saw the future's output: an `Err`, not an `async` block.
    assert_eq!(
        span.status,
        SpanStatus::Error {
            message: "not found: 7".into()
        }
    );
    let error_logs: Vec<_> = flush()
        .logs()
        .into_iter()
        .filter(|l| l.body == "not found: 7" && l.span_id == Some(span.span_id))
        .collect();
    assert_eq!(error_logs.len(), 1, "{error_logs:#?}");
    assert_eq!(error_logs[0].level, Level::Error);
}

// --- async-trait >= 0.1.44: `Box::pin(async move { .. })` --------------------------------

#[async_trait]
trait Repo {
    async fn get(&self, id: u32) -> Result<u32, String>;
}

struct UserRepo {
    base: u32,
}

#[instrument]
async fn trait_child() {}

#[async_trait]
impl Repo for UserRepo {
    #[instrument(err, fields(base = self.base, id))]
    async fn get(&self, id: u32) -> Result<u32, String> {
        tokio::time::sleep(WORK).await;
        log::info!("inside the async-trait method");
        trait_child().await;
        if id == 7 {
            return Err(format!("not found: {id}"));
        }
        Ok(self.base + id)
    }
}

#[test]
fn async_trait_method_is_instrumented_as_its_future() {
    pipeline();
    let repo = UserRepo { base: 100 };
    let got = runtime().block_on(async { repo.get(7).await });
    assert_eq!(got, Err("not found: 7".to_owned()));
    check_instrumented("get", "trait_child", "inside the async-trait method");
    let span = one_span("get");
    assert_eq!(attr(&span, "base"), Some(&Value::I64(100)));
    assert_eq!(attr(&span, "id"), Some(&Value::I64(7)));
    assert_eq!(calls("<UserRepo as Repo>::get", "error"), 1);
    assert_eq!(calls("<UserRepo as Repo>::get", "ok"), 0);
}

// --- async-trait <= 0.1.43: an inner `async fn` called in `Box::pin` ---------------------

trait OldRepo {
    fn fetch<'a>(
        &'a self,
        id: u32,
    ) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send + 'a>>;
}

struct OldStyle {
    base: u32,
}

#[instrument]
async fn old_child() {}

impl OldRepo for OldStyle {
    // What async-trait 0.1.43 generated for `async fn fetch(&self, id: u32)`, written out.
    #[instrument(err, fields(base = self.base))]
    fn fetch<'a>(
        &'a self,
        id: u32,
    ) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send + 'a>> {
        async fn __fetch(_self: &OldStyle, id: u32) -> Result<u32, String> {
            tokio::time::sleep(WORK).await;
            log::info!("inside the old-style method");
            old_child().await;
            if id == 7 {
                return Err(format!("not found: {id}"));
            }
            Ok(_self.base + id)
        }
        Box::pin(__fetch(self, id))
    }
}

#[test]
fn old_async_trait_form_is_instrumented_as_its_future() {
    pipeline();
    let repo = OldStyle { base: 1 };
    let got = runtime().block_on(async { repo.fetch(7).await });
    assert_eq!(got, Err("not found: 7".to_owned()));
    check_instrumented("fetch", "old_child", "inside the old-style method");
    assert_eq!(attr(&one_span("fetch"), "base"), Some(&Value::I64(1)));
    assert_eq!(calls("<OldStyle as OldRepo>::fetch", "error"), 1);
}

// --- `-> impl Future` returning `async move { .. }` -------------------------------------

#[instrument]
async fn impl_child() {}

#[instrument(err, ret)]
fn impl_future(id: u32) -> impl Future<Output = Result<u32, String>> {
    let doubled = id * 2;
    async move {
        tokio::time::sleep(WORK).await;
        log::info!("inside the impl Future block");
        impl_child().await;
        if id == 7 {
            return Err(format!("not found: {id}"));
        }
        Ok(doubled)
    }
}

#[test]
fn impl_future_block_is_instrumented() {
    pipeline();
    let rt = runtime();
    // Created, then awaited later: the span opens at the first poll.
    let fut = impl_future(7);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(rt.block_on(fut), Err("not found: 7".to_owned()));
    check_instrumented("impl_future", "impl_child", "inside the impl Future block");
    assert_eq!(calls("impl_future", "error"), 1);
    assert_eq!(rt.block_on(impl_future(2)), Ok(4));
    assert_eq!(calls("impl_future", "ok"), 1);
    let ok = flush()
        .spans_named("impl_future")
        .into_iter()
        .find(|s| {
            s.status
                != SpanStatus::Error {
                    message: "not found: 7".into(),
                }
        })
        .expect("the ok call");
    // `ret` with `err`: the `Ok` value.
    assert_eq!(attr(&ok, "return"), Some(&Value::Str("4".into())));
}

// --- `-> Pin<Box<dyn Future>>` returning `Box::pin(async move { .. })` -------------------

#[instrument]
async fn boxed_child() {}

#[instrument(err)]
fn boxed_future(id: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> {
    Box::pin(async move {
        tokio::time::sleep(WORK).await;
        log::info!("inside the boxed block");
        boxed_child().await;
        if id == 7 {
            return Err(format!("not found: {id}"));
        }
        Ok(id)
    })
}

#[test]
fn box_pin_block_is_instrumented() {
    pipeline();
    assert_eq!(
        runtime().block_on(boxed_future(7)),
        Err("not found: 7".to_owned())
    );
    check_instrumented("boxed_future", "boxed_child", "inside the boxed block");
    assert_eq!(calls("boxed_future", "error"), 1);
}

// --- a future type behind an alias (`BoxFuture`): the output is inferred -----------------

#[instrument]
async fn aliased_child() {}

#[instrument(err)]
fn aliased(id: u32) -> futures_util::future::BoxFuture<'static, Result<u32, String>> {
    Box::pin(async move {
        tokio::time::sleep(WORK).await;
        log::info!("inside the aliased future");
        aliased_child().await;
        if id == 7 {
            return Err(format!("not found: {id}"));
        }
        Ok(id)
    })
}

#[test]
fn aliased_future_is_instrumented() {
    pipeline();
    assert_eq!(
        runtime().block_on(aliased(7)),
        Err("not found: 7".to_owned())
    );
    check_instrumented("aliased", "aliased_child", "inside the aliased future");
}

// --- same-named methods: one series each -------------------------------------------------

struct Users;
struct Orders;

impl Users {
    #[instrument]
    fn get(&self) -> u32 {
        1
    }
}

impl Orders {
    #[instrument]
    fn get(&self) -> u32 {
        2
    }
}

struct Wrapper<T>(T);

impl<T: Copy + Into<u64>> Wrapper<T> {
    #[instrument]
    fn get(&self) -> u64 {
        self.0.into()
    }
}

#[test]
fn same_named_methods_have_their_own_series() {
    pipeline();
    for _ in 0..3 {
        Users.get();
    }
    for _ in 0..5 {
        Orders.get();
    }
    assert_eq!(Wrapper(1u8).get() + Wrapper(2u32).get(), 3);
    assert_eq!(calls("Users::get", "ok"), 3);
    assert_eq!(calls("Orders::get", "ok"), 5);
    // A generic impl: one series for every instantiation, the parameters printed as `_`.
    assert_eq!(calls("Wrapper<_>::get", "ok"), 2);
    assert_eq!(calls("get", "ok"), 0);
    // Every series of the two is exported once, with its own `function` label.
    let snapshot = flush().metrics().expect("a snapshot");
    let metric = snapshot.get(CALLS_TOTAL).expect("calls metric");
    let instrument_runtime::export::MetricData::Counter(points) = &metric.data else {
        panic!("{metric:?} is not a counter")
    };
    let mut functions: Vec<String> = points
        .iter()
        .filter(|p| p.labels.iter().any(|(k, v)| k == "result" && v == "ok"))
        .filter_map(|p| {
            p.labels
                .iter()
                .find(|(k, v)| k == "function" && v.ends_with("::get") && !v.starts_with('<'))
                .map(|(_, v)| v.to_string())
        })
        .collect();
    functions.sort();
    assert_eq!(functions, ["Orders::get", "Users::get", "Wrapper<_>::get"]);
}
