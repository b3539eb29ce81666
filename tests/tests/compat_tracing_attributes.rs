//! tracing-attributes 0.1.31's test suite (`tests/*.rs`), ported: every instrumented fn is
//! theirs with `use tracing_attributes::instrument` swapped for ours, and the assertions are
//! rewritten from `tracing_mock` expectations to what our testing exporter receives (span
//! names, targets, levels, fields, parents, `err`/`ret`). Each test runs in its own process
//! (`isolated`), so names the suite reuses (`my_fn`, `err`) never mix.
//!
//! Their `tests/ui` cases are ours too: `ui-tests/tests/ui/fail/instrument/*_tracing.rs` and
//! `ui-tests/tests/ui/pass/type_shadowing_tracing.rs`.
//!
//! What differs, and why (each place is marked `DIFFERS:` below):
//!
//! 1. **Parameters are not recorded unless named.** tracing records every parameter as a field
//!    unless skipped; we record only what `fields(...)` names (a parameter by its name:
//!    `fields(arg1)`). Recording everything costs a `Debug` format per argument per sampled
//!    call and exports whatever the arguments hold (tokens, personal data) to every trace
//!    backend. Tests asserting default fields (`instrument::fields`, `skip`, `generics`,
//!    `methods`, `destructuring::*`, the async ones) assert here that the parameters are absent,
//!    and that the `fields(...)` spelling records them. `skip(..)`/`skip_all` are accepted and
//!    change nothing.
//! 2. **No tracing `Id` or `Span` as `parent` / in `follows_from`.** Those name spans of a
//!    tracing subscriber, which we never see; ours take a `SpanContext` (or an `Option`, or a
//!    `RemoteContext`). `parents::explicit_parent_test` and `follows_from::*` are ported with
//!    `SpanContext`s; the tracing types fail to compile with an error saying so
//!    (`ui/fail/instrument/parent_tracing_span_id.rs`).
//! 3. **Links are an attribute.** The runtime has no span links yet: `follows_from` records
//!    each context as `trace_id-span_id` in the attribute `follows_from`.
//! 4. **Events inside bodies are the `log` crate's.** `tracing::trace!(..)` in their bodies
//!    goes to tracing (no subscriber here); the ports log with `log::info!` (our bridge), and
//!    check the record carries the span's ids.
//! 5. **`ret` is an attribute, not an event.** tracing emits an event with `return = ..` at
//!    `ret(level)` (default: the span's level); we record the attribute `return` on the span, so
//!    `ret(level = ..)` is accepted and has no effect. `err` is both here: the span fails with
//!    the error's text and a log record is emitted at `err(level)` (default ERROR) with the
//!    span's ids; at a level other than ERROR the text is also the attribute `error.message`.
//! 6. **No enter/exit events.** tracing_mock sees every poll's enter and exit; our exporter
//!    receives finished spans. `async_fn_only_enters_for_polls` is ported as: one span, its
//!    duration covers every poll, the log made inside carries its id.
//! 7. **No per-target filter.** `err::test_err_custom_target` filters with tracing-subscriber's
//!    `EnvFilter`; the port checks the span's and the error record's target.

use std::convert::Infallible;
use std::future::Future;
use std::num::TryFromIntError;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use instrument_runtime::export::{LogData, SpanData, SpanStatus, Value};
use instrument_runtime::testing::{Collected, TestExporter};
use instrument_runtime::{current_span_context, instrument, Level, SpanContext, Telemetry};
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(60);

/// A fresh pipeline (this process is the test's own).
fn install() -> (Telemetry, Collected) {
    let (exporter, collected) = TestExporter::new();
    let telemetry = instrument_runtime::builder()
        .exporter(exporter)
        .sample_ratio(1.0)
        // tracing's tests see every level: so do these (our default filter is `info`).
        .filter(instrument_runtime::Filter::parse("trace").expect("filter"))
        .install()
        .expect("install");
    (telemetry, collected)
}

/// Flushes and returns every span and log record.
fn finish(p: &(Telemetry, Collected)) -> (Vec<SpanData>, Vec<LogData>) {
    assert!(p.0.flush(T).completed, "flush did not complete");
    (p.1.spans(), p.1.logs())
}

/// The one span named `name`.
fn span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "spans named {name}: {spans:#?}");
    found[0]
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|v| v.to_string())
}

/// The attribute keys of `span`, sorted.
fn keys(span: &SpanData) -> Vec<&str> {
    let mut keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_ref()).collect();
    keys.sort_unstable();
    keys
}

/// Log records whose body is `body`.
fn logs_with<'a>(logs: &'a [LogData], body: &str) -> Vec<&'a LogData> {
    logs.iter().filter(|l| l.body == body).collect()
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// tracing_mock's `PollN`: ready after `polls` polls.
async fn poll_n(polls: usize) {
    for _ in 1..polls {
        tokio::task::yield_now().await;
    }
}

/// One `#[test]` running `body` in its own process.
macro_rules! compat {
    ($name:ident, $body:block) => {
        #[test]
        fn $name() {
            isolated(stringify!($name), T, || $body);
        }
    };
}

// ===================================== levels.rs ==========================================

fn level_of(spans: &[SpanData], name: &str) -> Level {
    span(spans, name).level
}

fn assert_five_levels(spans: &[SpanData]) {
    assert_eq!(level_of(spans, "trace"), Level::Trace);
    assert_eq!(level_of(spans, "debug"), Level::Debug);
    assert_eq!(level_of(spans, "info"), Level::Info);
    assert_eq!(level_of(spans, "warn"), Level::Warn);
    assert_eq!(level_of(spans, "error"), Level::Error);
}

compat!(levels_named_levels, {
    #[instrument(level = "trace")]
    fn trace() {}

    #[instrument(level = "Debug")]
    fn debug() {}

    #[instrument(level = "INFO")]
    fn info() {}

    #[instrument(level = "WARn")]
    fn warn() {}

    #[instrument(level = "eRrOr")]
    fn error() {}
    let p = install();
    trace();
    debug();
    info();
    warn();
    error();
    assert_five_levels(&finish(&p).0);
});

compat!(levels_numeric_levels, {
    #[instrument(level = 1)]
    fn trace() {}

    #[instrument(level = 2)]
    fn debug() {}

    #[instrument(level = 3)]
    fn info() {}

    #[instrument(level = 4)]
    fn warn() {}

    #[instrument(level = 5)]
    fn error() {}
    let p = install();
    trace();
    debug();
    info();
    warn();
    error();
    assert_five_levels(&finish(&p).0);
});

compat!(levels_enum_levels, {
    use tracing::Level;

    #[instrument(level = Level::TRACE)]
    fn trace() {}

    #[instrument(level = Level::DEBUG)]
    fn debug() {}

    #[instrument(level = tracing::Level::INFO)]
    fn info() {}

    #[instrument(level = Level::WARN)]
    fn warn() {}

    #[instrument(level = Level::ERROR)]
    fn error() {}
    let p = install();
    trace();
    debug();
    info();
    warn();
    error();
    assert_five_levels(&finish(&p).0);
});

// ===================================== names.rs ===========================================

#[instrument]
fn default_name() {}

#[instrument(name = "my_name")]
fn custom_name() {}

// tracing: "it's weird that we support both of these forms".
#[instrument("my_other_name")]
fn custom_name_no_equals() {}

compat!(names_default_name_test, {
    let p = install();
    default_name();
    span(&finish(&p).0, "default_name");
});

compat!(names_custom_name_test, {
    let p = install();
    custom_name();
    let (spans, _) = finish(&p);
    span(&spans, "my_name");
    // The metric series is the function's, whatever the span's name.
    assert_eq!(p.1.call_count("custom_name", "ok"), 1);
});

compat!(names_custom_name_no_equals_test, {
    let p = install();
    custom_name_no_equals();
    span(&finish(&p).0, "my_other_name");
});

// ===================================== targets.rs =========================================

#[instrument]
fn default_target() {}

#[instrument(target = "my_target")]
fn custom_target() {}

mod my_mod {
    use instrument_runtime::instrument;

    pub const MODULE_PATH: &str = module_path!();

    #[instrument]
    pub fn default_target() {}

    #[instrument(target = "my_other_target")]
    pub fn custom_target() {}
}

compat!(targets_default_targets, {
    let p = install();
    default_target();
    my_mod::default_target();
    let (spans, _) = finish(&p);
    let targets: Vec<&str> = spans.iter().map(|s| s.target).collect();
    assert_eq!(targets, [module_path!(), my_mod::MODULE_PATH]);
});

compat!(targets_custom_targets, {
    let p = install();
    custom_target();
    my_mod::custom_target();
    let (spans, _) = finish(&p);
    let targets: Vec<&str> = spans.iter().map(|s| s.target).collect();
    assert_eq!(targets, ["my_target", "my_other_target"]);
});

// ===================================== parents.rs =========================================

#[instrument]
fn with_default_parent() {}

// DIFFERS (2): tracing's `P: Into<Option<Id>>` is a `SpanContext` here.
#[instrument(parent = parent_span, skip(parent_span))]
fn with_explicit_parent(parent_span: Option<SpanContext>) {}

#[instrument]
fn contextual_parent() -> SpanContext {
    with_default_parent();
    current_span_context().expect("inside its span")
}

#[instrument]
fn explicit_parent() -> SpanContext {
    current_span_context().expect("inside its span")
}

compat!(parents_default_parent_test, {
    let p = install();
    with_default_parent();
    let ctx = contextual_parent();
    let (spans, _) = finish(&p);
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "with_default_parent")
        .collect();
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].parent_span_id, None);
    assert_eq!(found[1].parent_span_id, Some(ctx.span_id));
});

compat!(parents_explicit_parent_test, {
    let p = install();
    let explicit = explicit_parent();
    with_explicit_parent(Some(explicit));
    with_explicit_parent(None);
    let (spans, _) = finish(&p);
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "with_explicit_parent")
        .collect();
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].parent_span_id, Some(explicit.span_id));
    assert_eq!(found[0].trace_id, explicit.trace_id);
    assert_eq!(found[1].parent_span_id, None);
});

// ===================================== follows_from.rs ====================================

// DIFFERS (2, 3): the causes are `SpanContext`s; the links are the `follows_from` attribute.
#[instrument(follows_from = causes, skip(causes))]
fn with_follows_from_sync(causes: impl IntoIterator<Item = Option<SpanContext>>) {}

#[instrument(follows_from = causes, skip(causes))]
async fn with_follows_from_async(causes: impl IntoIterator<Item = SpanContext>) {}

#[instrument(follows_from = [current_span_context()])]
fn follows_from_current() {}

#[instrument]
fn cause(name: &str) -> SpanContext {
    let _ = name;
    current_span_context().expect("inside its span")
}

fn link(ctx: &SpanContext) -> String {
    format!("{}-{}", ctx.trace_id, ctx.span_id)
}

compat!(follows_from_sync_test, {
    let p = install();
    let (a, b) = (cause("a"), cause("b"));
    with_follows_from_sync([Some(a), None, Some(b)]);
    let (spans, _) = finish(&p);
    let s = span(&spans, "with_follows_from_sync");
    let want = format!("{},{}", link(&a), link(&b));
    assert_eq!(text(s, "follows_from"), Some(want));
});

compat!(follows_from_async_test, {
    let p = install();
    let (a, b) = (cause("a"), cause("b"));
    block_on(with_follows_from_async([a, b]));
    let (spans, _) = finish(&p);
    let s = span(&spans, "with_follows_from_async");
    let want = format!("{},{}", link(&a), link(&b));
    assert_eq!(text(s, "follows_from"), Some(want));
});

compat!(follows_from_current_test, {
    #[instrument]
    fn outer() -> SpanContext {
        follows_from_current();
        current_span_context().expect("inside its span")
    }
    let p = install();
    let ctx = outer();
    let (spans, _) = finish(&p);
    let s = span(&spans, "follows_from_current");
    assert_eq!(text(s, "follows_from"), Some(link(&ctx)));
    // Also its contextual child.
    assert_eq!(s.parent_span_id, Some(ctx.span_id));
});

// ===================================== err.rs =============================================

#[instrument(err)]
fn err() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

#[instrument(err)]
#[allow(dead_code)]
fn err_suspicious_else() -> Result<u8, TryFromIntError> {
    {}
    u8::try_from(1234)
}

#[instrument(err)]
fn err_early_return() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)?;
    Ok(5)
}

#[instrument(err)]
async fn err_async(polls: usize) -> Result<u8, TryFromIntError> {
    let future = poll_n(polls);
    log::info!("awaiting");
    future.await;
    u8::try_from(1234)
}

#[instrument(err)]
fn err_mut(out: &mut u8) -> Result<(), TryFromIntError> {
    *out = u8::try_from(1234)?;
    Ok(())
}

#[instrument(err)]
async fn err_mut_async(polls: usize, out: &mut u8) -> Result<(), TryFromIntError> {
    let future = poll_n(polls);
    log::info!("awaiting");
    future.await;
    *out = u8::try_from(1234)?;
    Ok(())
}

#[instrument(err(Debug))]
fn err_dbg() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

#[instrument(err(level = "info"))]
fn err_info() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

#[instrument(err(Debug, level = "info"))]
fn err_dbg_info() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

#[instrument(level = "warn", err(level = "info"))]
fn err_warn_info() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

#[instrument(target = "my_target", err)]
fn error_span() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

/// The text of `u8::try_from(1234)`'s error.
fn try_from_error() -> (String, String) {
    let e = u8::try_from(1234_i32).unwrap_err();
    (e.to_string(), format!("{e:?}"))
}

/// `name` failed with `message`, and one log record at `level` with `message` carries its ids.
fn assert_failed(spans: &[SpanData], logs: &[LogData], name: &str, message: &str, level: Level) {
    let s = span(spans, name);
    let records = logs_with(logs, message);
    assert_eq!(records.len(), 1, "{logs:#?}");
    assert_eq!(records[0].level, level);
    assert_eq!(records[0].span_id, Some(s.span_id));
    assert_eq!(records[0].trace_id, Some(s.trace_id));
    match &s.status {
        SpanStatus::Error { message: m } if level == Level::Error => assert_eq!(m, message),
        SpanStatus::Error { .. } => {
            assert_eq!(text(s, "error.message").as_deref(), Some(message));
        }
        other => panic!("{name}: {other:?}"),
    }
}

compat!(err_test, {
    let p = install();
    assert!(err().is_err());
    assert!(err_suspicious_else().is_err());
    let (spans, logs) = finish(&p);
    let (display, _) = try_from_error();
    assert_failed(&spans, &logs[..1], "err", &display, Level::Error);
    assert_failed(
        &spans,
        &logs[1..],
        "err_suspicious_else",
        &display,
        Level::Error,
    );
});

compat!(err_test_early_return, {
    let p = install();
    assert!(err_early_return().is_err());
    let (spans, logs) = finish(&p);
    let (display, _) = try_from_error();
    assert_failed(&spans, &logs, "err_early_return", &display, Level::Error);
});

compat!(err_test_async, {
    let p = install();
    assert!(block_on(err_async(2)).is_err());
    let (spans, logs) = finish(&p);
    let (display, _) = try_from_error();
    assert_failed(&spans, &logs, "err_async", &display, Level::Error);
    let awaiting = logs_with(&logs, "awaiting");
    assert_eq!(awaiting.len(), 1);
    assert_eq!(awaiting[0].span_id, Some(span(&spans, "err_async").span_id));
});

compat!(err_test_mut, {
    let p = install();
    let mut out = 0;
    assert!(err_mut(&mut out).is_err());
    let (spans, logs) = finish(&p);
    let (display, _) = try_from_error();
    assert_failed(&spans, &logs, "err_mut", &display, Level::Error);
});

compat!(err_test_mut_async, {
    let p = install();
    let mut out = 0;
    assert!(block_on(err_mut_async(2, &mut out)).is_err());
    let (spans, logs) = finish(&p);
    let (display, _) = try_from_error();
    assert_failed(&spans, &logs, "err_mut_async", &display, Level::Error);
});

compat!(err_impl_trait_return_type, {
    // DIFFERS (1): tracing records `x = 10`; here `fields(x)` would.
    #[instrument(err)]
    fn returns_impl_trait(x: usize) -> Result<impl Iterator<Item = usize>, String> {
        Ok(0..x)
    }
    let p = install();
    assert_eq!(returns_impl_trait(10).unwrap().count(), 10);
    let (spans, logs) = finish(&p);
    let s = span(&spans, "returns_impl_trait");
    assert_eq!(s.status, SpanStatus::Unset);
    assert!(keys(s).is_empty(), "{s:?}");
    assert!(logs.is_empty(), "{logs:?}");
});

compat!(err_test_err_dbg, {
    let p = install();
    assert!(err_dbg().is_err());
    let (spans, logs) = finish(&p);
    let (_, debug) = try_from_error();
    assert_failed(&spans, &logs, "err_dbg", &debug, Level::Error);
});

compat!(err_test_err_display_default, {
    let p = install();
    assert!(err().is_err());
    let (spans, logs) = finish(&p);
    let (display, _) = try_from_error();
    assert_failed(&spans, &logs, "err", &display, Level::Error);
});

compat!(err_test_err_custom_target, {
    // DIFFERS (7): no EnvFilter; the target is the span's and the record's.
    let p = install();
    assert!(error_span().is_err());
    let (spans, logs) = finish(&p);
    let (display, _) = try_from_error();
    assert_failed(&spans, &logs, "error_span", &display, Level::Error);
    assert_eq!(span(&spans, "error_span").target, "my_target");
    assert_eq!(logs[0].target, "my_target");
});

compat!(err_test_err_info, {
    let p = install();
    assert!(err_info().is_err());
    let (spans, logs) = finish(&p);
    let (display, _) = try_from_error();
    assert_failed(&spans, &logs, "err_info", &display, Level::Info);
});

compat!(err_test_err_dbg_info, {
    let p = install();
    assert!(err_dbg_info().is_err());
    let (spans, logs) = finish(&p);
    let (_, debug) = try_from_error();
    assert_failed(&spans, &logs, "err_dbg_info", &debug, Level::Info);
});

compat!(err_test_err_warn_info, {
    let p = install();
    assert!(err_warn_info().is_err());
    let (spans, logs) = finish(&p);
    let (display, _) = try_from_error();
    assert_eq!(span(&spans, "err_warn_info").level, Level::Warn);
    assert_failed(&spans, &logs, "err_warn_info", &display, Level::Info);
});

// ===================================== ret.rs =============================================

#[instrument(ret)]
fn ret() -> i32 {
    42
}

#[instrument(target = "my_target", ret)]
fn ret_with_target() -> i32 {
    42
}

#[instrument(level = "warn", ret)]
fn ret_warn() -> i32 {
    42
}

#[instrument(ret)]
fn ret_mut(a: &mut i32) -> i32 {
    *a *= 2;
    log::info!("a = {a}");
    *a
}

#[instrument(ret)]
async fn ret_async() -> i32 {
    42
}

#[instrument(ret)]
fn ret_impl_type() -> impl Copy {
    42
}

#[instrument(ret(Display))]
fn ret_display() -> i32 {
    42
}

#[instrument(err, ret)]
fn ret_and_err() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

#[instrument(err, ret)]
fn ret_and_ok() -> Result<u8, TryFromIntError> {
    u8::try_from(123)
}

#[instrument(level = "warn", ret(level = "info"))]
fn ret_warn_info() -> i32 {
    42
}

#[instrument(ret(level = "warn", Debug))]
fn ret_dbg_warn() -> i32 {
    42
}

/// DIFFERS (5): the value is the span's `return` attribute.
fn assert_returned(name: &str, f: impl FnOnce(), want: &str) -> SpanData {
    let p = install();
    f();
    let (spans, _) = finish(&p);
    let s = span(&spans, name).clone();
    assert_eq!(text(&s, "return").as_deref(), Some(want), "{s:?}");
    s
}

compat!(ret_test, {
    assert_returned("ret", || assert_eq!(ret(), 42), "42");
});

compat!(ret_test_custom_target, {
    let s = assert_returned(
        "ret_with_target",
        || assert_eq!(ret_with_target(), 42),
        "42",
    );
    assert_eq!(s.target, "my_target");
});

compat!(ret_test_warn, {
    let s = assert_returned("ret_warn", || assert_eq!(ret_warn(), 42), "42");
    assert_eq!(s.level, Level::Warn);
});

compat!(ret_test_mut, {
    let p = install();
    let mut a = 5;
    assert_eq!(ret_mut(&mut a), 10);
    let (spans, logs) = finish(&p);
    let s = span(&spans, "ret_mut");
    assert_eq!(text(s, "return").as_deref(), Some("10"));
    assert_eq!(logs_with(&logs, "a = 10")[0].span_id, Some(s.span_id));
});

compat!(ret_test_async, {
    assert_returned("ret_async", || assert_eq!(block_on(ret_async()), 42), "42");
});

compat!(ret_test_impl_type, {
    assert_returned("ret_impl_type", || _ = ret_impl_type(), "42");
});

compat!(ret_test_dbg, {
    assert_returned("ret_display", || assert_eq!(ret_display(), 42), "42");
});

compat!(ret_test_ret_and_err, {
    let p = install();
    assert!(ret_and_err().is_err());
    let (spans, logs) = finish(&p);
    let (display, _) = try_from_error();
    assert_failed(&spans, &logs, "ret_and_err", &display, Level::Error);
    // With `err`, `ret` records the `Ok` value only.
    assert_eq!(attr(span(&spans, "ret_and_err"), "return"), None);
});

compat!(ret_test_ret_and_ok, {
    let s = assert_returned("ret_and_ok", || assert_eq!(ret_and_ok(), Ok(123)), "123");
    assert_eq!(s.status, SpanStatus::Unset);
});

compat!(ret_test_warn_info, {
    let s = assert_returned("ret_warn_info", || assert_eq!(ret_warn_info(), 42), "42");
    assert_eq!(s.level, Level::Warn);
});

compat!(ret_test_dbg_warn, {
    assert_returned("ret_dbg_warn", || assert_eq!(ret_dbg_warn(), 42), "42");
});

// ===================================== fields.rs ==========================================

#[instrument(fields(foo = "bar", dsa = true, num = 1))]
fn fn_no_param() {}

#[instrument(fields(foo = "bar"))]
fn fn_param(param: u32) {}

#[instrument(fields(foo = "bar", empty))]
fn fn_empty_field() {}

#[instrument(fields(len = s.len()))]
fn fn_expr_field(s: &str) {}

#[instrument(fields(s.len = s.len(), s.is_empty = s.is_empty()))]
fn fn_two_expr_fields(s: &str) {
    let _ = s;
}

#[instrument(fields(%s, s.len = s.len()))]
fn fn_clashy_expr_field(s: &str) {
    let _ = s;
}

#[instrument(fields(s = "s"))]
fn fn_clashy_expr_field2(s: &str) {
    let _ = s;
}

#[instrument(fields(s = &s))]
fn fn_string(s: String) {
    let _ = s;
}

#[instrument(fields(keywords.impl.type.fn = _arg), skip(_arg))]
fn fn_keyword_ident_in_field(_arg: &str) {}

const CONST_FIELD_NAME: &str = "foo.bar";

#[instrument(fields({CONST_FIELD_NAME} = "baz"))]
fn fn_const_field_name() {}

const fn get_const_fn_field_name() -> &'static str {
    "foo.bar"
}

#[instrument(fields({get_const_fn_field_name()} = "baz"))]
fn fn_const_fn_field_name() {}

struct FieldNames {}
impl FieldNames {
    const FOO_BAR: &'static str = "foo.bar";
}

#[instrument(fields({FieldNames::FOO_BAR} = "baz"))]
fn fn_struct_const_field_name() {}

#[instrument(fields({"foo"} = "bar"))]
fn fn_string_field_name() {}

const CLASHY_FIELD_NAME: &str = "s";

#[instrument(fields({CLASHY_FIELD_NAME} = "foo"))]
fn fn_clashy_const_field_name(s: &str) {
    let _ = s;
}

#[derive(Debug)]
struct HasField {
    my_field: &'static str,
}

impl HasField {
    #[instrument(fields(my_field = self.my_field), skip(self))]
    fn self_expr_field(&self) {}
}

/// Runs `f` and returns the one span named `name`.
fn one(name: &str, f: impl FnOnce()) -> SpanData {
    let p = install();
    f();
    span(&finish(&p).0, name).clone()
}

compat!(fields_fields, {
    let s = one("fn_no_param", fn_no_param);
    assert_eq!(attr(&s, "foo"), Some(&Value::from("bar")));
    assert_eq!(attr(&s, "dsa"), Some(&Value::Bool(true)));
    assert_eq!(attr(&s, "num"), Some(&Value::I64(1)));
    assert_eq!(keys(&s), ["dsa", "foo", "num"]);
});

compat!(fields_expr_field, {
    let s = one("fn_expr_field", || fn_expr_field("hello world"));
    assert_eq!(attr(&s, "len"), Some(&Value::I64(11)));
    assert_eq!(keys(&s), ["len"]);
});

compat!(fields_two_expr_fields, {
    let s = one("fn_two_expr_fields", || fn_two_expr_fields("hello world"));
    assert_eq!(attr(&s, "s.len"), Some(&Value::I64(11)));
    assert_eq!(attr(&s, "s.is_empty"), Some(&Value::Bool(false)));
    assert_eq!(keys(&s), ["s.is_empty", "s.len"]);
});

compat!(fields_clashy_expr_field, {
    let s = one("fn_clashy_expr_field", || {
        fn_clashy_expr_field("hello world")
    });
    assert_eq!(text(&s, "s").as_deref(), Some("hello world"));
    assert_eq!(attr(&s, "s.len"), Some(&Value::I64(11)));
    let s = one("fn_clashy_expr_field2", || {
        fn_clashy_expr_field2("hello world")
    });
    assert_eq!(text(&s, "s").as_deref(), Some("s"));
    assert_eq!(keys(&s), ["s"]);
});

compat!(fields_self_expr_field, {
    let s = one("self_expr_field", || {
        HasField {
            my_field: "hello world",
        }
        .self_expr_field()
    });
    assert_eq!(text(&s, "my_field").as_deref(), Some("hello world"));
    assert_eq!(keys(&s), ["my_field"]);
});

compat!(fields_parameters_with_fields, {
    // DIFFERS (1): tracing also records `param = 1`.
    let s = one("fn_param", || fn_param(1));
    assert_eq!(keys(&s), ["foo"]);
});

compat!(fields_empty_field, {
    // Declared on the callsite, recorded later: nothing is exported for it now.
    let s = one("fn_empty_field", fn_empty_field);
    assert_eq!(keys(&s), ["foo"]);
});

compat!(fields_string_field, {
    let s = one("fn_string", || fn_string(String::from("hello world")));
    assert_eq!(text(&s, "s").as_deref(), Some("hello world"));
});

compat!(fields_keyword_ident_in_field_name, {
    let s = one("fn_keyword_ident_in_field", || {
        fn_keyword_ident_in_field("test")
    });
    assert_eq!(text(&s, "keywords.impl.type.fn").as_deref(), Some("test"));
});

compat!(fields_expr_const_field_name, {
    let s = one("fn_const_field_name", fn_const_field_name);
    assert_eq!(text(&s, "foo.bar").as_deref(), Some("baz"));
});

compat!(fields_expr_const_fn_field_name, {
    let s = one("fn_const_fn_field_name", fn_const_fn_field_name);
    assert_eq!(text(&s, "foo.bar").as_deref(), Some("baz"));
});

compat!(fields_struct_const_field_name, {
    let s = one("fn_struct_const_field_name", fn_struct_const_field_name);
    assert_eq!(text(&s, "foo.bar").as_deref(), Some("baz"));
});

compat!(fields_string_field_name, {
    let s = one("fn_string_field_name", fn_string_field_name);
    assert_eq!(text(&s, "foo").as_deref(), Some("bar"));
});

compat!(fields_clashy_const_field_name, {
    let s = one("fn_clashy_const_field_name", || {
        fn_clashy_const_field_name("hello world")
    });
    assert_eq!(text(&s, "s").as_deref(), Some("foo"));
    assert_eq!(keys(&s), ["s"]);
});

// ===================================== instrument.rs ======================================

// https://github.com/tokio-rs/tracing/issues/2294: inner attributes in the body.
#[deny(unused_variables)]
#[allow(dead_code, clippy::mixed_attributes_style)]
#[instrument]
fn repro_2294() {
    #![allow(unused_variables)]
    let i = 42;
}

compat!(instrument_override_everything, {
    #[instrument(target = "my_target", level = "debug")]
    fn my_fn() {}

    #[instrument(level = tracing::Level::DEBUG, target = "my_target")]
    fn my_other_fn() {}
    let p = install();
    my_fn();
    my_other_fn();
    let (spans, _) = finish(&p);
    for name in ["my_fn", "my_other_fn"] {
        let s = span(&spans, name);
        assert_eq!((s.level, s.target), (Level::Debug, "my_target"));
    }
});

compat!(instrument_fields, {
    // DIFFERS (1): the parameters are recorded when named.
    #[instrument(target = "my_target", level = "debug")]
    fn my_fn(arg1: usize, arg2: bool, arg3: String) {}

    #[instrument(target = "my_target", level = "debug", fields(arg1, arg2, arg3))]
    fn named(arg1: usize, arg2: bool, arg3: String) {}
    let p = install();
    my_fn(2, false, "Cool".to_string());
    named(3, true, "Still Cool".to_string());
    let (spans, _) = finish(&p);
    assert!(keys(span(&spans, "my_fn")).is_empty());
    let s = span(&spans, "named");
    assert_eq!(attr(s, "arg1"), Some(&Value::I64(3)));
    assert_eq!(attr(s, "arg2"), Some(&Value::Bool(true)));
    assert_eq!(text(s, "arg3").as_deref(), Some("Still Cool"));
});

compat!(instrument_skip, {
    struct UnDebug();

    #[instrument(target = "my_target", level = "debug", skip(_arg2, _arg3))]
    fn my_fn(arg1: usize, _arg2: UnDebug, _arg3: UnDebug) {}

    #[instrument(target = "my_target", level = "debug", skip_all)]
    fn my_fn2(_arg1: usize, _arg2: UnDebug, _arg3: UnDebug) {}
    let p = install();
    my_fn(2, UnDebug(), UnDebug());
    my_fn(3, UnDebug(), UnDebug());
    my_fn2(2, UnDebug(), UnDebug());
    let (spans, _) = finish(&p);
    assert_eq!(spans.iter().filter(|s| s.name == "my_fn").count(), 2);
    // DIFFERS (1): tracing records `arg1`.
    assert!(spans.iter().all(|s| s.attributes.is_empty()));
    span(&spans, "my_fn2");
});

compat!(instrument_generics, {
    #[derive(Debug)]
    struct Foo;

    #[instrument]
    fn my_fn<S, T: std::fmt::Debug>(arg1: S, arg2: T)
    where
        S: std::fmt::Debug,
    {
    }

    #[instrument(fields(?arg1, ?arg2))]
    fn named<S, T: std::fmt::Debug>(arg1: S, arg2: T)
    where
        S: std::fmt::Debug,
    {
    }
    let p = install();
    my_fn(Foo, false);
    named(Foo, false);
    let (spans, _) = finish(&p);
    assert!(keys(span(&spans, "my_fn")).is_empty());
    let s = span(&spans, "named");
    assert_eq!(text(s, "arg1").as_deref(), Some("Foo"));
    assert_eq!(text(s, "arg2").as_deref(), Some("false"));
});

compat!(instrument_methods, {
    #[derive(Debug)]
    struct Foo;

    impl Foo {
        #[instrument]
        fn my_fn(&self, arg1: usize) {}

        #[instrument(fields(?self, arg1))]
        fn named(&self, arg1: usize) {}
    }
    let p = install();
    Foo.my_fn(42);
    Foo.named(42);
    let (spans, _) = finish(&p);
    assert!(keys(span(&spans, "my_fn")).is_empty());
    let s = span(&spans, "named");
    assert_eq!(text(s, "self").as_deref(), Some("Foo"));
    assert_eq!(attr(s, "arg1"), Some(&Value::I64(42)));
    // The metric series is the method's.
    assert_eq!(p.1.call_count("instrument_methods::Foo::my_fn", "ok"), 1);
});

compat!(instrument_impl_trait_return_type, {
    #[instrument]
    fn returns_impl_trait(x: usize) -> impl Iterator<Item = usize> {
        0..x
    }
    let p = install();
    assert_eq!(returns_impl_trait(10).count(), 10);
    span(&finish(&p).0, "returns_impl_trait");
});

const MY_NAME: &str = "my_name";
const MY_TARGET: &str = "my_target";

compat!(instrument_name_ident, {
    #[instrument(name = MY_NAME)]
    fn name() {}
    let p = install();
    name();
    span(&finish(&p).0, MY_NAME);
});

compat!(instrument_target_ident, {
    #[instrument(target = MY_TARGET)]
    fn target() {}
    let p = install();
    target();
    assert_eq!(span(&finish(&p).0, "target").target, MY_TARGET);
});

compat!(instrument_target_name_ident, {
    #[instrument(name = MY_NAME, target = MY_TARGET)]
    fn name_target() {}
    let p = install();
    name_target();
    assert_eq!(span(&finish(&p).0, MY_NAME).target, MY_TARGET);
});

compat!(instrument_user_tracing_module, {
    use ::tracing::field::Empty;

    // https://github.com/tokio-rs/tracing/issues/3119: a user module named `tracing`.
    #[instrument(fields(f = Empty))]
    fn my_fn() {
        assert_eq!("test", tracing::my_other_fn());
    }

    mod tracing {
        pub fn my_other_fn() -> &'static str {
            "test"
        }
    }
    let p = install();
    my_fn();
    assert!(keys(span(&finish(&p).0, "my_fn")).is_empty());
});

// ===================================== destructuring.rs ===================================
// DIFFERS (1): tracing records the destructured bindings; here they are recorded when named,
// as any parameter.

compat!(destructuring_destructure_tuples, {
    #[instrument]
    fn my_fn((arg1, arg2): (usize, usize)) {}

    #[instrument(fields(arg1, arg2))]
    fn named((arg1, arg2): (usize, usize)) {}
    let p = install();
    my_fn((1, 2));
    named((1, 2));
    let (spans, _) = finish(&p);
    assert!(keys(span(&spans, "my_fn")).is_empty());
    // `fields(arg1)` names a binding, not a parameter: declared, not captured.
    assert!(keys(span(&spans, "named")).is_empty());
});

compat!(destructuring_destructure_nested_tuples, {
    #[instrument]
    fn my_fn(((arg1, arg2), (arg3, arg4)): ((usize, usize), (usize, usize))) {}

    #[instrument(fields(arg1 = arg1, arg4 = arg4))]
    fn named(((arg1, arg2), (arg3, arg4)): ((usize, usize), (usize, usize))) {}
    let p = install();
    my_fn(((1, 2), (3, 4)));
    named(((1, 2), (3, 4)));
    let (spans, _) = finish(&p);
    assert!(keys(span(&spans, "my_fn")).is_empty());
    let s = span(&spans, "named");
    assert_eq!(attr(s, "arg1"), Some(&Value::I64(1)));
    assert_eq!(attr(s, "arg4"), Some(&Value::I64(4)));
});

compat!(destructuring_destructure_refs, {
    #[instrument]
    fn my_fn(&arg1: &usize) {}

    #[instrument(fields(arg1 = arg1))]
    fn named(&arg1: &usize) {}
    let p = install();
    my_fn(&1);
    named(&1);
    let (spans, _) = finish(&p);
    assert!(keys(span(&spans, "my_fn")).is_empty());
    assert_eq!(attr(span(&spans, "named"), "arg1"), Some(&Value::I64(1)));
});

compat!(destructuring_destructure_tuple_structs, {
    struct Foo(usize, usize);

    #[instrument]
    fn my_fn(Foo(arg1, arg2): Foo) {}
    let p = install();
    my_fn(Foo(1, 2));
    assert!(keys(span(&finish(&p).0, "my_fn")).is_empty());
});

compat!(destructuring_destructure_structs, {
    struct Foo {
        bar: usize,
        baz: usize,
    }

    #[instrument]
    fn my_fn(
        Foo {
            bar: arg1,
            baz: arg2,
        }: Foo,
    ) {
        let _ = (arg1, arg2);
    }
    let p = install();
    my_fn(Foo { bar: 1, baz: 2 });
    span(&finish(&p).0, "my_fn");
});

compat!(destructuring_destructure_everything, {
    struct Foo {
        bar: Bar,
        baz: (usize, usize),
        qux: NoDebug,
    }
    struct Bar((usize, usize));
    struct NoDebug;

    #[instrument]
    fn my_fn(
        &Foo {
            bar: Bar((arg1, arg2)),
            baz: (arg3, arg4),
            ..
        }: &Foo,
    ) {
        let _ = (arg1, arg2, arg3, arg4);
    }
    let p = install();
    let foo = Foo {
        bar: Bar((1, 2)),
        baz: (3, 4),
        qux: NoDebug,
    };
    let _ = &foo.qux;
    my_fn(&foo);
    span(&finish(&p).0, "my_fn");
});

// ===================================== async_fn.rs ========================================

#[instrument]
async fn test_async_fn(polls: usize) -> Result<(), ()> {
    let future = poll_n(polls);
    log::info!("awaiting");
    future.await;
    Ok(())
}

// Reproduces a compile error when returning an `impl Trait` from an instrumented async fn
// (see https://github.com/tokio-rs/tracing/issues/1615)
#[allow(dead_code)]
#[instrument]
async fn test_ret_impl_trait(n: i32) -> Result<impl Iterator<Item = i32>, ()> {
    Ok((0..10).filter(move |x| *x < n))
}

// Reproduces a compile error when returning an `impl Trait` from an instrumented async fn
// (see https://github.com/tokio-rs/tracing/issues/1615)
#[allow(dead_code)]
#[instrument(err)]
async fn test_ret_impl_trait_err(n: i32) -> Result<impl Iterator<Item = i32>, &'static str> {
    Ok((0..10).filter(move |x| *x < n))
}

#[instrument]
#[allow(dead_code)]
async fn test_async_fn_empty() {}

#[instrument]
#[allow(dead_code)]
async unsafe fn test_async_unsafe_fn_empty() {}

// Reproduces a compile error when an instrumented function body contains inner attributes
// (https://github.com/tokio-rs/tracing/issues/2294).
#[deny(unused_variables)]
#[allow(dead_code, clippy::mixed_attributes_style)]
#[instrument]
async fn repro_async_2294() {
    #![allow(unused_variables)]
    let i = 42;
}

// Reproduces https://github.com/tokio-rs/tracing/issues/1613
#[instrument]
// LOAD-BEARING `#[rustfmt::skip]`! This is necessary to reproduce the bug;
// with the rustfmt-generated formatting, the lint will not be triggered!
#[rustfmt::skip]
#[deny(clippy::suspicious_else_formatting)]
#[allow(dead_code)]
async fn repro_1613(var: bool) {
    println!(
        "{}",
        if var { "true" } else { "false" }
    );
}

// Reproduces https://github.com/tokio-rs/tracing/issues/1613
// and https://github.com/rust-lang/rust-clippy/issues/7760
#[instrument]
#[deny(clippy::suspicious_else_formatting)]
#[allow(dead_code)]
async fn repro_1613_2() {
    // hello world
    // else
}

// Reproduces https://github.com/tokio-rs/tracing/issues/1831
#[allow(dead_code)] // this is just here to test whether it compiles.
#[instrument]
#[deny(unused_braces)]
fn repro_1831() -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {})
}

// This replicates the pattern used to implement async trait methods on nightly using the
// `type_alias_impl_trait` feature
#[allow(dead_code)] // this is just here to test whether it compiles.
#[instrument(ret, err)]
#[deny(unused_braces)]
#[allow(clippy::manual_async_fn)]
fn repro_1831_2() -> impl Future<Output = Result<(), Infallible>> {
    async { Ok(()) }
}

compat!(async_fn_only_enters_for_polls, {
    // DIFFERS (6): no enter/exit events; one span covering the polls.
    let p = install();
    assert_eq!(block_on(async { test_async_fn(2).await }), Ok(()));
    let (spans, logs) = finish(&p);
    let s = span(&spans, "test_async_fn");
    assert_eq!(logs_with(&logs, "awaiting")[0].span_id, Some(s.span_id));
    assert!(keys(s).is_empty(), "DIFFERS (1): `polls` is not recorded");
});

compat!(async_fn_nested, {
    #[instrument]
    async fn test_async_fns_nested() {
        test_async_fns_nested_other().await
    }

    #[instrument]
    async fn test_async_fns_nested_other() {
        log::info!("nested");
    }
    let p = install();
    block_on(async { test_async_fns_nested().await });
    let (spans, logs) = finish(&p);
    let outer = span(&spans, "test_async_fns_nested");
    let inner = span(&spans, "test_async_fns_nested_other");
    assert_eq!(inner.parent_span_id, Some(outer.span_id));
    assert_eq!(logs_with(&logs, "nested")[0].span_id, Some(inner.span_id));
});

compat!(async_fn_with_async_trait, {
    use async_trait::async_trait;

    // test the correctness of the metadata obtained by #[instrument]
    // (function name, functions parameters) when async-trait is used
    #[async_trait]
    pub trait TestA {
        async fn foo(&mut self, v: usize);
    }

    // test nesting of async fns with aync-trait
    #[async_trait]
    pub trait TestB {
        async fn bar(&self);
    }

    // test skip(self) with async-await
    #[async_trait]
    pub trait TestC {
        async fn baz(&self);
    }

    #[derive(Debug)]
    struct TestImpl(usize);

    #[async_trait]
    impl TestA for TestImpl {
        #[instrument]
        async fn foo(&mut self, v: usize) {
            self.baz().await;
            self.0 = v;
            self.bar().await
        }
    }

    #[async_trait]
    impl TestB for TestImpl {
        #[instrument]
        async fn bar(&self) {
            log::info!("val = {}", self.0);
        }
    }

    #[async_trait]
    impl TestC for TestImpl {
        #[instrument(skip(self))]
        async fn baz(&self) {
            log::info!("val = {}", self.0);
        }
    }
    let p = install();
    let mut test = TestImpl(2);
    block_on(async { test.foo(5).await });
    let (spans, logs) = finish(&p);
    let foo = span(&spans, "foo");
    let bar = span(&spans, "bar");
    let baz = span(&spans, "baz");
    assert_eq!(foo.parent_span_id, None);
    assert_eq!(bar.parent_span_id, Some(foo.span_id));
    assert_eq!(baz.parent_span_id, Some(foo.span_id));
    assert_eq!(logs_with(&logs, "val = 2")[0].span_id, Some(baz.span_id));
    assert_eq!(logs_with(&logs, "val = 5")[0].span_id, Some(bar.span_id));
    // One series per method, named by the impl.
    let calls = |f: &str| p.1.call_count(f, "ok");
    assert_eq!(
        calls("<async_fn_with_async_trait::TestImpl as async_fn_with_async_trait::TestA>::foo"),
        1
    );
});

compat!(async_fn_with_async_trait_and_fields_expressions, {
    use async_trait::async_trait;

    #[async_trait]
    pub trait Test {
        async fn call(&mut self, v: usize);
    }

    #[derive(Clone, Debug)]
    struct TestImpl;

    impl TestImpl {
        fn foo(&self) -> usize {
            42
        }
    }

    #[async_trait]
    impl Test for TestImpl {
        // check that self is correctly handled, even when using async_trait
        #[instrument(fields(val=self.foo(), val2=Self::clone(self).foo(), test=%_v+5))]
        async fn call(&mut self, _v: usize) {}
    }
    let p = install();
    block_on(async { TestImpl.call(5).await });
    let (spans, _) = finish(&p);
    let s = span(&spans, "call");
    assert_eq!(attr(s, "val"), Some(&Value::I64(42)));
    assert_eq!(attr(s, "val2"), Some(&Value::I64(42)));
    assert_eq!(text(s, "test").as_deref(), Some("10"));
    // DIFFERS (1): tracing also records `_v`.
    assert_eq!(keys(s), ["test", "val", "val2"]);
});

compat!(
    async_fn_with_async_trait_and_fields_expressions_with_generic_parameter,
    {
        use async_trait::async_trait;

        #[async_trait]
        pub trait Test {
            async fn call();
            async fn call_with_self(&self);
            async fn call_with_mut_self(&mut self);
        }

        #[derive(Clone, Debug)]
        struct TestImpl;

        // we also test sync functions that return futures, as they should be handled just like
        // async-trait (>= 0.1.44) functions
        impl TestImpl {
            #[instrument(fields(Self=std::any::type_name::<Self>()))]
            fn sync_fun(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
                let val = self.clone();
                Box::pin(async move {
                    let _ = val;
                })
            }
        }

        #[async_trait]
        impl Test for TestImpl {
            // instrumenting this is currently not possible, see
            // https://github.com/tokio-rs/tracing/issues/864#issuecomment-667508801
            //#[instrument(fields(Self=std::any::type_name::<Self>()))]
            async fn call() {}

            #[instrument(fields(Self=std::any::type_name::<Self>()))]
            async fn call_with_self(&self) {
                self.sync_fun().await;
            }

            #[instrument(fields(Self=std::any::type_name::<Self>()))]
            async fn call_with_mut_self(&mut self) {}
        }
        let p = install();
        block_on(async {
            TestImpl::call().await;
            TestImpl.call_with_self().await;
            TestImpl.call_with_mut_self().await
        });
        let (spans, _) = finish(&p);
        let type_name = std::any::type_name::<TestImpl>();
        for name in ["call_with_self", "sync_fun", "call_with_mut_self"] {
            assert_eq!(text(span(&spans, name), "Self").as_deref(), Some(type_name));
        }
        let outer = span(&spans, "call_with_self");
        assert_eq!(span(&spans, "sync_fun").parent_span_id, Some(outer.span_id));
    }
);

compat!(async_fn_out_of_scope_fields, {
    // Reproduces tokio-rs/tracing#1296
    struct Thing {
        metrics: Arc<()>,
    }

    impl Thing {
        #[instrument(skip(self, _req), fields(app_id))]
        fn call(&mut self, _req: ()) -> Pin<Box<dyn Future<Output = Arc<()>> + Send + Sync>> {
            // ...
            let metrics = self.metrics.clone();
            // ...
            Box::pin(async move {
                // ...
                metrics // cannot find value `metrics` in this scope
            })
        }
    }
    let p = install();
    block_on(async {
        let mut my_thing = Thing {
            metrics: Arc::new(()),
        };
        my_thing.call(()).await;
    });
    let (spans, _) = finish(&p);
    // `app_id` is declared (not a parameter), not recorded.
    assert!(keys(span(&spans, "call")).is_empty());
});

compat!(async_fn_manual_impl_future, {
    #[allow(clippy::manual_async_fn)]
    #[instrument]
    fn manual_impl_future() -> impl Future<Output = ()> {
        async {
            log::info!("poll");
        }
    }
    let p = install();
    block_on(async {
        manual_impl_future().await;
    });
    let (spans, logs) = finish(&p);
    let s = span(&spans, "manual_impl_future");
    assert_eq!(logs_with(&logs, "poll")[0].span_id, Some(s.span_id));
});

compat!(async_fn_manual_box_pin, {
    #[instrument]
    fn manual_box_pin() -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(async {
            log::info!("poll");
        })
    }
    let p = install();
    block_on(async {
        manual_box_pin().await;
    });
    let (spans, logs) = finish(&p);
    let s = span(&spans, "manual_box_pin");
    assert_eq!(logs_with(&logs, "poll")[0].span_id, Some(s.span_id));
});

// ===================================== dead_code.rs =======================================

#[expect(dead_code)]
#[instrument]
fn unused() {}

#[expect(dead_code)]
#[instrument]
async fn unused_async() {}
