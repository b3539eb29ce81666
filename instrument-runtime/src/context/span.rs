//! The span of one instrumented call: opened at entry, closed exactly once at exit (return,
//! `?`, panic or cancellation), recording the call's latency in the metrics always and a span
//! record when sampled.

use std::borrow::Cow;
use std::fmt;
use std::mem::ManuallyDrop;

use super::current::SpanContext;
use crate::attributes;
use crate::buffer::record::{Priority, Record, SpanExtras, SpanRecord, StatusCode};
use crate::callsite::{series_index, Callsite};
use crate::clock::{self, Instant};
use crate::data::{KeyValue, Value};
use crate::{local, log_record, Level};

/// How a call ended, for the `result` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Returned normally (`Ok` for `Result`-returning functions).
    Ok = 0,
    /// Returned `Err`, or panicked.
    Error = 1,
}

/// An open span. Made by `#[instrument]`'s expansion; not constructed by users.
#[derive(Debug)]
pub struct Span {
    callsite: &'static Callsite,
    ctx: SpanContext,
    /// The parent's span id when it is in the same trace, else 0 (a root).
    parent_span_id: u64,
    /// What was current before a sync span was entered; restored when it closes.
    previous: SpanContext,
    start: Instant,
    /// Sync spans are current on their thread until they close.
    entered: bool,
    finished: bool,
    /// `result` digit excluded: the label-value part of the metric series index.
    label_index: usize,
    /// Attributes, events, links recorded on a sampled span. `ManuallyDrop` so a span's drop
    /// glue has no out-of-line `drop_in_place` call for it: [`Drop for Span`](Span) releases
    /// it (it is `None` on every unsampled call), so it is never leaked.
    extras: ManuallyDrop<Option<Box<SpanExtras>>>,
}

impl Span {
    /// Opens a span for a synchronous call and makes it current on this thread.
    #[inline]
    pub fn enter(callsite: &'static Callsite) -> Span {
        Span::open(callsite, None, true)
    }

    /// Opens a span for a synchronous call with an explicit parent (e.g. extracted from a
    /// `traceparent` header); `None` starts a new trace.
    #[inline]
    pub fn enter_with_parent(callsite: &'static Callsite, parent: Option<SpanContext>) -> Span {
        Span::open(callsite, Some(parent.unwrap_or(SpanContext::NONE)), true)
    }

    /// Opens a span for an async call. It is current only while its future is polled (see
    /// [`Span::instrument`]), so it never leaks to other tasks on the same thread.
    #[inline]
    pub fn start(callsite: &'static Callsite) -> Span {
        Span::open(callsite, None, false)
    }

    /// Like [`Span::start`] with an explicit parent; `None` starts a new trace.
    #[inline]
    pub fn start_with_parent(callsite: &'static Callsite, parent: Option<SpanContext>) -> Span {
        Span::open(callsite, Some(parent.unwrap_or(SpanContext::NONE)), false)
    }

    #[inline(always)]
    fn open(callsite: &'static Callsite, parent: Option<SpanContext>, enter: bool) -> Span {
        if !callsite.enabled() {
            return Span::disabled(callsite);
        }
        Span::open_enabled(callsite, parent, enter)
    }

    #[inline]
    fn open_enabled(callsite: &'static Callsite, parent: Option<SpanContext>, enter: bool) -> Span {
        let opened = local::open(parent, enter);
        let parent_span_id = if opened.parent.trace_id == opened.ctx.trace_id {
            opened.parent.span_id.to_u64()
        } else {
            0
        };
        Span {
            callsite,
            ctx: opened.ctx,
            parent_span_id,
            previous: opened.previous,
            start: Instant::now(),
            entered: enter,
            finished: false,
            label_index: 0,
            extras: ManuallyDrop::new(None),
        }
    }

    /// The span of a call the filter disables: already finished, so it records nothing (no
    /// span, no metric sample, no `err` record) and leaves the current context alone.
    #[inline(always)]
    fn disabled(callsite: &'static Callsite) -> Span {
        Span {
            callsite,
            ctx: SpanContext::NONE,
            parent_span_id: 0,
            previous: SpanContext::NONE,
            start: Instant::ZERO,
            entered: false,
            finished: true,
            label_index: 0,
            extras: ManuallyDrop::new(None),
        }
    }

    /// This span's context ([`SpanContext::NONE`] if the filter disables it).
    #[inline]
    pub fn context(&self) -> SpanContext {
        if self.ctx.is_undrawn() {
            // An unsampled sync span whose ids were not drawn yet: it is the current span
            // (only sync spans are lazy, and they are current until they close), and reading
            // the current context draws them, once, for every reader.
            return local::current();
        }
        self.ctx
    }

    /// `true` if this span will be exported (fields are only captured then).
    #[inline]
    pub fn is_sampled(&self) -> bool {
        self.ctx.is_sampled()
    }

    /// Selects the metric series of the user's labels (mixed-radix index over their values).
    #[inline]
    pub fn set_label_index(&mut self, index: usize) {
        self.label_index = index;
    }

    /// Records an attribute (call only when sampled; values are truncated to the configured
    /// maximum length).
    pub fn record(&mut self, key: &'static str, value: Value) {
        self.extras
            .get_or_insert_with(Default::default)
            .attributes
            .push(KeyValue {
                key: Cow::Borrowed(key),
                value,
            });
    }

    /// Sets the span's kind (`kind = "server"`); kept only when sampled.
    #[inline]
    pub fn set_kind(&mut self, kind: crate::data::SpanKind) {
        if self.is_sampled() {
            self.extras.get_or_insert_with(Default::default).kind = Some(kind);
        }
    }

    /// Links the span to another span it follows from (`follows_from = ...`); kept only when
    /// sampled, an invalid context is ignored.
    pub fn add_link(&mut self, other: SpanContext) {
        if self.is_sampled() && other.is_valid() {
            self.extras
                .get_or_insert_with(Default::default)
                .add_link(crate::context::handle::link(other));
        }
    }

    /// Records the return value's `Debug` form as attribute `return` (the `ret` argument).
    pub fn record_return(&mut self, value: &dyn fmt::Debug) {
        if self.is_sampled() {
            self.record("return", attributes::debug(value));
        }
    }

    /// Records the return value's `Display` form as attribute `return` (`ret(Display)`).
    pub fn record_return_display(&mut self, value: &dyn fmt::Display) {
        if self.is_sampled() {
            self.record("return", attributes::display(value));
        }
    }

    /// The `err` argument: marks the span as failed with the error's text, and emits an ERROR
    /// log record carrying it and this span's ids.
    pub fn record_error(&mut self, error: &dyn fmt::Display) {
        if self.finished {
            return; // disabled by the filter (or already closed): no record
        }
        let message = attributes::display_string(error);
        log_record::emit_error(self.callsite, self.context(), &message);
        if self.is_sampled() {
            self.extras
                .get_or_insert_with(Default::default)
                .error_message = Some(message);
        }
    }

    /// Like [`Span::record_error`], with the error's `Debug` form (`err(Debug)`).
    pub fn record_error_debug(&mut self, error: &dyn fmt::Debug) {
        self.record_error(&attributes::DebugAsDisplay(error));
    }

    /// Closes the span with the call's outcome.
    #[inline(always)]
    pub fn finish(&mut self, outcome: Outcome) {
        if !self.finished {
            self.close(outcome, false);
        }
    }

    /// Wraps the async body so this span is current exactly while it is polled (a span the
    /// filter disables leaves the current context alone).
    #[inline]
    pub fn instrument<F>(&self, future: F) -> crate::context::future::WithContext<F> {
        if self.ctx.is_valid() {
            crate::context::future::WithContext::new(future, self.ctx)
        } else {
            crate::context::future::WithContext::transparent(future)
        }
    }

    #[inline]
    fn close(&mut self, outcome: Outcome, cancelled: bool) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let end = Instant::now();
        let nanos = clock::nanos_between(self.start, end);
        let series = series_index(outcome as usize, self.label_index);
        if self.entered {
            local::restore_current(&self.previous);
        }
        local::close(self.callsite, series, nanos, || {
            self.ctx
                .is_sampled()
                .then(|| self.make_record(end, outcome, cancelled))
        });
    }

    fn make_record(
        &mut self,
        end: Instant,
        outcome: Outcome,
        cancelled: bool,
    ) -> (Record, Priority) {
        // Records made through the span handle while this span was current join its own.
        let mut extras =
            crate::context::store::merge_into(self.ctx.span_id.to_u64(), self.extras.take());
        if cancelled {
            extras
                .get_or_insert_with(Default::default)
                .attributes
                .push(KeyValue::new("instrument.cancelled", true));
        }
        let status = match outcome {
            Outcome::Ok => StatusCode::Unset,
            Outcome::Error => StatusCode::Error,
        };
        let trace = self.ctx.trace_id.to_u128();
        let record = SpanRecord {
            callsite: self.callsite,
            trace_hi: (trace >> 64) as u64,
            trace_lo: trace as u64,
            span_id: self.ctx.span_id.to_u64(),
            parent_id: self.parent_span_id,
            start: self.start,
            end,
            status,
            flags: self.ctx.trace_flags,
            label_index: u32::try_from(self.label_index).unwrap_or(u32::MAX),
            extras,
        };
        let priority = Priority::of(self.callsite.level, outcome == Outcome::Error);
        (Record::Span(record), priority)
    }
}

impl Drop for Span {
    #[inline(always)]
    fn drop(&mut self) {
        if !self.finished {
            self.drop_unfinished();
        }
        if self.extras.is_some() {
            self.release_extras();
        }
    }
}

impl Span {
    /// Frees what a span recorded but never handed to a record (closed unsampled, or never
    /// closed): the `ManuallyDrop` field's release, taken out and dropped as a plain value.
    #[cold]
    fn release_extras(&mut self) {
        drop(std::mem::take(&mut *self.extras));
    }

    #[cold]
    fn drop_unfinished(&mut self) {
        // Not finished: the call panicked (unwinding through the body); or an async call's
        // future was dropped before completion (cancelled); or a sync body that runs inline
        // (`#[track_caller]`) left early with `return` / `?` (counted as ok: its value was
        // not seen).
        if std::thread::panicking() {
            if self.is_sampled() {
                self.extras
                    .get_or_insert_with(Default::default)
                    .error_message = Some("panicked".to_owned());
            }
            self.close(Outcome::Error, false);
        } else {
            let cancelled = !self.entered;
            self.close(Outcome::Ok, cancelled);
        }
    }
}

/// Level of a callsite, for the macro's `level = "..."` (kept here so the macro emits a path).
pub const fn level_from_str(s: &str) -> Level {
    match s.as_bytes() {
        b"trace" => Level::Trace,
        b"debug" => Level::Debug,
        b"warn" => Level::Warn,
        b"error" => Level::Error,
        _ => Level::Info,
    }
}
