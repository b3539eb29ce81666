//! The `tracing` bridge (feature `tracing`): a [`tracing_subscriber::Layer`] that puts the
//! `tracing` ecosystem (tokio, hyper, tonic, tower-http, sqlx, ...) inside our traces. It
//! composes with the user's other layers (fmt, `EnvFilter`): it filters nothing itself.
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//! use tracing_subscriber::util::SubscriberInitExt;
//!
//! let telemetry = instrument_runtime::init();
//! tracing_subscriber::registry()
//!     .with(instrument_runtime::tracing_bridge::layer())
//!     .with(
//!         tracing_subscriber::fmt::layer()
//!             .event_format(instrument_runtime::tracing_bridge::WithTraceIds::default()),
//!     )
//!     .try_init()
//!     .ok();
//! tracing::info!(user = 7, "hello"); // a log record; printed with trace_id=... span_id=...
//! drop(telemetry);
//! ```
//!
//! - A `tracing` **span** becomes one of our spans: a child of the current span (ours or a
//!   `tracing` one), the parent of everything current inside it (`#[instrument]` calls, manual
//!   spans, `tracing` spans), timed by the same clock. Its fields are attributes, including
//!   fields recorded later (`Span::record`); `follows_from` becomes a link; the field
//!   `otel.kind` (`"server"`, `"client"`, ...) sets its kind. It is current while entered,
//!   so across `.await` exactly as `tracing::Instrument` carries it. Its [`SpanContext`] is in
//!   the `tracing` span's extensions (`span.extensions().get::<SpanContext>()`).
//! - A `tracing` **event** becomes a log record: its `message` is the body, its other fields
//!   are attributes, with its level, target, module, file and line, and the trace and span
//!   ids of the span current where it was made (or of its explicit parent). Events converted
//!   from `log` records by `tracing-log` keep the `log` record's target, module, file and
//!   line.
//! - [`WithTraceIds`] prefixes `trace_id=... span_id=... ` to a fmt layer's lines.
//! - Nothing made on the pipeline's own threads is recorded: hyper and tonic inside the OTLP
//!   exporter emit `tracing` events, which reach the user's other layers but are never
//!   exported (no feedback loop, no re-entrancy into the exporter thread).
//!
//! Spans from `tracing` record no call metrics (those stay per `#[instrument]` function).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as Values};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::attributes;
use crate::buffer::inline::{self, Encoder, Meta as InlineMeta, StaticOrigin};
use crate::buffer::record::{Priority, SpanExtras};
use crate::callsite::Callsite;
use crate::clock::Instant;
use crate::context::current::SpanContext;
use crate::context::handle::link;
use crate::context::manual::{intern, span_record, CallsiteKey};
use crate::context::store;
use crate::data::{KeyValue, SpanKind, SpanStatus, Value};
use crate::local::{self, Making};
use crate::log_record::{log_record_with, Origin};
use crate::{stats, Level};

/// The bridge layer; add it to a `tracing_subscriber::registry()`.
pub fn layer() -> InstrumentLayer {
    InstrumentLayer { _private: () }
}

/// A `tracing_subscriber::Layer` feeding `tracing` spans and events into this crate's pipeline
/// (see the [module docs](self)).
#[derive(Clone, Copy, Debug)]
pub struct InstrumentLayer {
    _private: (),
}

impl Default for InstrumentLayer {
    fn default() -> Self {
        layer()
    }
}

/// Our state of one `tracing` span, in its extensions.
struct BridgeSpan {
    ctx: SpanContext,
    parent_span_id: u64,
    start: Instant,
    extras: Option<Box<SpanExtras>>,
}

thread_local! {
    /// The `tracing` spans entered on this thread, innermost last, each with the context that
    /// was current before it.
    static ENTERED: RefCell<Vec<(u64, SpanContext)>> = const { RefCell::new(Vec::new()) };
    /// Cached: is this one of the pipeline's own threads (exporter thread, its runtime)?
    static PIPELINE_THREAD: Cell<Option<bool>> = const { Cell::new(None) };
}

/// `true` on the exporter thread and the threads of its private runtime: their `tracing`
/// output is never recorded.
fn on_pipeline_thread() -> bool {
    if local::is_exporter_thread() {
        return true;
    }
    PIPELINE_THREAD
        .try_with(|c| match c.get() {
            Some(v) => v,
            None => {
                let v = std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("instrument-exporter"));
                c.set(Some(v));
                v
            }
        })
        .unwrap_or(true)
}

fn level(l: &tracing::Level) -> Level {
    match *l {
        tracing::Level::TRACE => Level::Trace,
        tracing::Level::DEBUG => Level::Debug,
        tracing::Level::INFO => Level::Info,
        tracing::Level::WARN => Level::Warn,
        _ => Level::Error,
    }
}

fn callsite(meta: &'static Metadata<'static>) -> &'static Callsite {
    intern(
        CallsiteKey::Tracing(std::ptr::from_ref(meta) as usize),
        || {
            Callsite::new(
                meta.name(),
                meta.target(),
                meta.module_path().unwrap_or(meta.target()),
                meta.file().unwrap_or(""),
                meta.line().unwrap_or(0),
                level(meta.level()),
                &[],
            )
        },
    )
}

fn context_of<S>(ctx: &Context<'_, S>, id: &Id) -> Option<SpanContext>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.span(id)?.extensions().get::<SpanContext>().copied()
}

/// Span fields into span attributes.
struct SpanFields<'a>(&'a mut SpanExtras);

impl SpanFields<'_> {
    fn set(&mut self, field: &Field, value: Value) {
        if field.name() == "otel.kind" {
            if let Value::Str(s) = &value {
                if let Some(kind) = SpanKind::parse(&s.to_ascii_lowercase()) {
                    self.0.kind = Some(kind);
                    return;
                }
            }
        }
        self.0.set_attribute(KeyValue {
            key: Cow::Borrowed(field.name()),
            value,
        });
    }
}

impl Visit for SpanFields<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, u64_value(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field, Value::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(
            field,
            Value::Str(Cow::Owned(attributes::bounded_str(value))),
        );
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.set(field, attributes::display(&value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field, attributes::debug(value));
    }
}

fn u64_value(v: u64) -> Value {
    i64::try_from(v).map_or_else(|_| Value::Str(Cow::Owned(v.to_string())), Value::I64)
}

/// Event fields: `message` into the body, `log.*` (from `tracing-log`) into the origin, the
/// rest into attributes.
#[derive(Default)]
struct EventFields {
    body: String,
    attributes: Vec<KeyValue>,
    log_target: Option<String>,
    log_module: Option<String>,
    log_file: Option<String>,
    log_line: Option<u32>,
}

impl EventFields {
    fn set(&mut self, field: &Field, value: Value) {
        if self.attributes.len() < crate::buffer::record::MAX_SPAN_ATTRIBUTES {
            self.attributes.push(KeyValue {
                key: Cow::Borrowed(field.name()),
                value,
            });
        }
    }
}

impl Visit for EventFields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        match field.name() {
            "log.line" => self.log_line = u32::try_from(value).ok(),
            _ => self.set(field, Value::I64(value)),
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "log.line" => self.log_line = u32::try_from(value).ok(),
            _ => self.set(field, u64_value(value)),
        }
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field, Value::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.body.push_str(value),
            "log.target" => self.log_target = Some(value.to_owned()),
            "log.module_path" => self.log_module = Some(value.to_owned()),
            "log.file" => self.log_file = Some(value.to_owned()),
            _ => self.set(
                field,
                Value::Str(Cow::Owned(attributes::bounded_str(value))),
            ),
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.set(field, attributes::display(&value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        use std::fmt::Write as _;
        match field.name() {
            "message" => {
                let _ = write!(self.body, "{value:?}");
            }
            "log.target" | "log.module_path" | "log.file" => {
                let mut s = String::new();
                let _ = write!(s, "{value:?}");
                self.record_str(field, &s);
            }
            _ => self.set(field, attributes::debug(value)),
        }
    }
}

/// Event fields of a native `tracing` event (its field names are its metadata's, so they are
/// kept as indices) into the thread's scratch encoder: `message` into the body, the rest
/// into attributes, formatted in place (no allocation once the scratch has grown).
struct InlineFields<'a>(&'a mut Encoder);

/// A `tracing` field's index in its callsite's field set (at most 32 fields).
fn key(field: &Field) -> u8 {
    u8::try_from(field.index()).unwrap_or(u8::MAX)
}

impl Visit for InlineFields<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.i64(key(field), value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.0.i64(key(field), v),
            Err(_) => self.0.str_fmt(key(field), format_args!("{value}")),
        }
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.f64(key(field), value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.bool(key(field), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.0.body_str(value),
            _ => self.0.str(key(field), value),
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.str_fmt(key(field), format_args!("{value}"));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.0.body_fmt(format_args!("{value:?}")),
            _ => self.0.str_fmt(key(field), format_args!("{value:?}")),
        }
    }
}

/// Records a native `tracing` event without allocating (see [`crate::buffer::inline`]):
/// `false` if the thread's scratch is in use (an event made inside a field's `Debug` impl)
/// or gone (thread teardown), and the caller takes the boxed path.
fn record_inline(event: &Event<'_>, span_ctx: SpanContext, at: Instant) -> bool {
    inline::with_scratch(|encoder| {
        event.record(&mut InlineFields(encoder));
        let meta = event.metadata();
        let level = level(meta.level());
        let inline = InlineMeta {
            at,
            level,
            ctx: span_ctx,
            origin: StaticOrigin::Tracing(meta),
        };
        local::push_log(encoder, inline, Priority::of(level, false));
    })
    .is_some()
}

impl<S> Layer<S> for InstrumentLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if on_pipeline_thread() {
            return;
        }
        let meta = attrs.metadata();
        if !crate::filter::log_enabled(meta.target(), level(meta.level())) {
            // Disabled by our level filter: no span of ours, and without our context in its
            // extensions the `tracing` span is transparent (its children and events belong to
            // the span around it).
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let parent = if let Some(p) = attrs.parent() {
            context_of(&ctx, p).unwrap_or_else(local::current)
        } else if attrs.is_root() {
            SpanContext::NONE
        } else {
            local::current()
        };
        let opened = local::open(Some(parent), false);
        let parent_span_id = if opened.parent.trace_id == opened.ctx.trace_id {
            opened.parent.span_id.to_u64()
        } else {
            0
        };
        // Fields are visited (user `Debug` impls run) before the extensions are locked: a
        // `Debug` impl that emits a `tracing` event must not find them locked.
        let state = opened.ctx.is_sampled().then(|| {
            let mut state = BridgeSpan {
                ctx: opened.ctx,
                parent_span_id,
                start: Instant::now(),
                extras: None,
            };
            if !attrs.fields().is_empty() {
                let mut extras = Box::<SpanExtras>::default();
                attrs.record(&mut SpanFields(&mut extras));
                state.extras = Some(extras);
            }
            state
        });
        let mut ext = span.extensions_mut();
        ext.insert(opened.ctx);
        // An unsampled span needs only its context (for its children and while entered).
        if let Some(state) = state {
            ext.insert(state);
        }
    }

    fn on_record(&self, id: &Id, values: &Values<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let sampled = span
            .extensions()
            .get::<BridgeSpan>()
            .is_some_and(|s| s.ctx.is_sampled());
        if !sampled {
            return;
        }
        // Visited outside the extensions' lock (user `Debug` impls run here), then merged.
        let mut later = SpanExtras::default();
        values.record(&mut SpanFields(&mut later));
        let mut ext = span.extensions_mut();
        if let Some(state) = ext.get_mut::<BridgeSpan>() {
            state
                .extras
                .get_or_insert_with(Default::default)
                .merge(later);
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let Some(other) = context_of(&ctx, follows) else {
            return;
        };
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut ext = span.extensions_mut();
        if let Some(state) = ext.get_mut::<BridgeSpan>() {
            if state.ctx.is_sampled() {
                state
                    .extras
                    .get_or_insert_with(Default::default)
                    .add_link(link(other));
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(ours) = context_of(&ctx, id) else {
            return;
        };
        let previous = local::replace_current(ours);
        let _ = ENTERED.try_with(|e| {
            if let Ok(mut e) = e.try_borrow_mut() {
                e.push((id.into_u64(), previous));
            }
        });
    }

    fn on_exit(&self, id: &Id, _ctx: Context<'_, S>) {
        let _ = ENTERED.try_with(|e| {
            let Ok(mut e) = e.try_borrow_mut() else {
                return;
            };
            let Some(pos) = e.iter().rposition(|(i, _)| *i == id.into_u64()) else {
                return;
            };
            let (_, previous) = e.remove(pos);
            if pos == e.len() {
                local::replace_current(previous);
            } else {
                // Exited out of order: the span entered after it now restores what it had.
                e[pos].1 = previous;
            }
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(mut state) = span.extensions_mut().remove::<BridgeSpan>() else {
            return;
        };
        if !state.ctx.is_sampled() {
            return;
        }
        let end = Instant::now();
        let meta = span.metadata();
        let extras = store::merge_into(state.ctx.span_id.to_u64(), state.extras.take());
        let is_error = extras
            .as_ref()
            .is_some_and(|e| matches!(e.status, Some(SpanStatus::Error { .. })));
        let level = level(meta.level());
        let record = span_record(
            callsite(meta),
            state.ctx,
            state.parent_span_id,
            (state.start, end),
            extras,
        );
        local::push(record, Priority::of(level, is_error));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if on_pipeline_thread() {
            return;
        }
        let meta = event.metadata();
        // Events converted from `log` carry their real target in a field: decided below.
        let from_log_tracer = meta.fields().field("log.target").is_some();
        if !from_log_tracer && !crate::filter::log_enabled(meta.target(), level(meta.level())) {
            return;
        }
        let Some(making) = Making::begin() else {
            return;
        };
        let _making = match making {
            Ok(m) => m,
            Err(reason) => return stats::count_drop(crate::buffer::record::Signal::Log, reason, 1),
        };
        let span_ctx = match event.parent() {
            Some(p) => context_of(&ctx, p).unwrap_or_else(local::current),
            None if event.is_root() => SpanContext::NONE,
            None => local::current(),
        };
        let at = Instant::now();
        if !from_log_tracer && record_inline(event, span_ctx, at) {
            return;
        }
        let mut fields = EventFields {
            attributes: Vec::with_capacity(meta.fields().len().saturating_sub(1)),
            ..EventFields::default()
        };
        event.record(&mut fields);
        let level = level(meta.level());
        if let Some(target) = fields.log_target.as_deref() {
            if !crate::filter::log_enabled(target, level) {
                return;
            }
        }
        let from_log = fields.log_target.is_some();
        let origin = Origin {
            target: match fields.log_target.take() {
                Some(t) => Cow::Owned(t),
                None => Cow::Borrowed(meta.target()),
            },
            // tracing-log's strings are not 'static: the module and file of a converted `log`
            // record are kept as attributes instead.
            module_path: if from_log { None } else { meta.module_path() },
            file: if from_log { None } else { meta.file() },
            line: if from_log {
                fields.log_line
            } else {
                meta.line()
            },
        };
        let mut attrs = std::mem::take(&mut fields.attributes);
        if let Some(m) = fields.log_module.take() {
            attrs.push(KeyValue::new("code.namespace", m));
        }
        if let Some(f) = fields.log_file.take() {
            attrs.push(KeyValue::new("code.file.path", f));
        }
        let record = log_record_with(
            at,
            level,
            attributes::bounded_str(&fields.body),
            span_ctx,
            origin,
            attrs,
        );
        local::push(record, Priority::of(level, false));
    }
}

/// A fmt-layer event formatter that writes `trace_id=<32 hex> span_id=<16 hex> ` (the span
/// current where the event was made, ours or a bridged `tracing` one) before what the inner
/// formatter writes; nothing is added outside spans.
///
/// `tracing_subscriber::fmt::layer().event_format(WithTraceIds::default())` wraps the
/// default format; `WithTraceIds::new(tracing_subscriber::fmt::format().compact())` wraps
/// another one.
#[derive(Clone, Debug)]
pub struct WithTraceIds<F = Format<Full>> {
    inner: F,
}

impl<F> WithTraceIds<F> {
    /// Wraps `inner`.
    pub fn new(inner: F) -> Self {
        WithTraceIds { inner }
    }
}

impl Default for WithTraceIds {
    fn default() -> Self {
        WithTraceIds::new(tracing_subscriber::fmt::format())
    }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let current = match event.parent() {
            Some(p) => ctx
                .span(p)
                .and_then(|s| s.extensions().get::<SpanContext>().copied()),
            None => crate::current_span_context(),
        };
        if let Some(c) = current.filter(SpanContext::is_valid) {
            write!(writer, "trace_id={} span_id={} ", c.trace_id, c.span_id)?;
        }
        self.inner.format_event(ctx, writer, event)
    }
}
