//! Manual spans: a span around a block, a closure or a future, for code that is not one
//! function (a loop iteration, a phase of a request, a message handled inside a consumer).
//!
//! ```
//! use instrument_runtime::{span, SpanKind};
//!
//! // A guard: the span is current until `_s` is dropped.
//! {
//!     let _s = span("batch").attr("items", 3).entered();
//!     // ... children opened here are its children
//! }
//! // A closure.
//! let n = span("parse").in_scope(|| 42);
//! // A future: current exactly while it is polled, ended when it completes (or is dropped).
//! let job = span("consume").kind(SpanKind::Consumer).instrument(async { n + 1 });
//! # drop(job);
//! ```
//!
//! Manual spans are spans only: they record no call metrics (`function_calls_total` and
//! `function_calls_duration_seconds` stay per `#[instrument]` function). An unsampled manual
//! span costs what an unsampled `#[instrument]` span costs without its metric cell: ids, two
//! clock reads, no allocation. Its callsite (name, target, file, line) is made once per
//! distinct source location and kept for the life of the process.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use super::current::SpanContext;
use super::future::WithContext;
use super::handle::{self, own, EventAttributes};
use super::store;
use crate::attributes::FieldValue;
use crate::buffer::record::{Priority, Record, SpanExtras, SpanRecord, StatusCode};
use crate::callsite::Callsite;
use crate::clock::Instant;
use crate::data::{KeyValue, SpanKind, SpanStatus};
use crate::{local, Level};

/// Starts describing a manual span named `name`; its file and line are the caller's.
#[track_caller]
pub fn span(name: &'static str) -> SpanBuilder {
    SpanBuilder {
        meta: Meta {
            name,
            target: None,
            location: Location::caller(),
            level: Level::Info,
        },
        kind: None,
        parent: None,
    }
}

#[derive(Clone, Copy, Debug)]
struct Meta {
    name: &'static str,
    target: Option<&'static str>,
    location: &'static Location<'static>,
    level: Level,
}

/// A manual span not started yet (nothing is drawn or timed until it starts).
#[derive(Clone, Copy, Debug)]
#[must_use = "a span builder does nothing until started"]
pub struct SpanBuilder {
    meta: Meta,
    kind: Option<SpanKind>,
    /// `None`: the current span; `Some(NONE)`: a new trace.
    parent: Option<SpanContext>,
}

impl SpanBuilder {
    /// The span's level (default `Info`).
    pub fn level(mut self, level: Level) -> Self {
        self.meta.level = level;
        self
    }

    /// The span's target (default: the caller's file path; pass `module_path!()` to filter it
    /// like the module's other spans).
    pub fn target(mut self, target: &'static str) -> Self {
        self.meta.target = Some(target);
        self
    }

    /// The span's kind (default `Internal`).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// An explicit parent instead of the current span (an invalid context starts a new trace).
    pub fn parent(mut self, parent: SpanContext) -> Self {
        self.parent = Some(parent);
        self
    }

    /// A new trace, whatever span is current.
    pub fn root(mut self) -> Self {
        self.parent = Some(SpanContext::NONE);
        self
    }

    /// Starts the span (not current anywhere yet). A span the level filter disables (by its
    /// target and level, see [`set_filter`](crate::set_filter)) records nothing and is
    /// transparent: its context is its parent's, so what runs inside it belongs to the span
    /// around it.
    pub fn start(self) -> ManualSpan {
        let target = self.meta.target.unwrap_or(self.meta.location.file());
        if !crate::filter::log_enabled(target, self.meta.level) {
            return ManualSpan {
                meta: self.meta,
                ctx: self.parent.unwrap_or_else(local::current),
                parent_span_id: 0,
                start: Instant::now(),
                extras: None,
                ended: true,
            };
        }
        let opened = local::open(self.parent, false);
        let parent_span_id = if opened.parent.trace_id == opened.ctx.trace_id {
            opened.parent.span_id.to_u64()
        } else {
            0
        };
        let mut span = ManualSpan {
            meta: self.meta,
            ctx: opened.ctx,
            parent_span_id,
            start: Instant::now(),
            extras: None,
            ended: false,
        };
        if let Some(kind) = self.kind {
            span.set_kind(kind);
        }
        span
    }

    /// Starts the span with a first attribute.
    pub fn attr<V: FieldValue>(self, key: impl Into<Cow<'static, str>>, value: V) -> ManualSpan {
        self.start().attr(key, value)
    }

    /// Starts the span linked to `other`.
    pub fn follows_from(self, other: SpanContext) -> ManualSpan {
        let mut span = self.start();
        span.follows_from(other);
        span
    }

    /// Starts the span and makes it current until the guard is dropped.
    pub fn entered(self) -> EnteredSpan {
        self.start().entered()
    }

    /// Runs `f` inside the span (started now, ended when `f` returns or panics).
    pub fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        self.start().in_scope(f)
    }

    /// Runs `future` inside the span: started now, current exactly while the future is polled,
    /// ended when it completes (or, marked `instrument.cancelled`, when it is dropped first).
    pub fn instrument<F: Future>(self, future: F) -> Instrumented<F> {
        self.start().instrument(future)
    }
}

/// A started manual span. Ends when dropped (or with [`ManualSpan::end`]).
#[derive(Debug)]
#[must_use = "a span ends when dropped"]
pub struct ManualSpan {
    meta: Meta,
    ctx: SpanContext,
    parent_span_id: u64,
    start: Instant,
    extras: Option<Box<SpanExtras>>,
    ended: bool,
}

impl ManualSpan {
    /// This span's context (to pass as a parent, a link or a `traceparent`).
    pub fn context(&self) -> SpanContext {
        self.ctx
    }

    /// `true` if the span is recorded and exported (false for a span the level filter
    /// disabled).
    #[inline]
    pub fn is_sampled(&self) -> bool {
        !self.ended && self.ctx.is_sampled()
    }

    /// Records an attribute and returns the span (builder style).
    pub fn attr<V: FieldValue>(mut self, key: impl Into<Cow<'static, str>>, value: V) -> Self {
        self.record(key, value);
        self
    }

    /// Records an attribute (a key already set gets the new value).
    pub fn record<V: FieldValue>(&mut self, key: impl Into<Cow<'static, str>>, value: V) {
        if self.is_sampled() {
            own(&mut self.extras).set_attribute(KeyValue {
                key: key.into(),
                value: value.to_value(),
            });
        }
    }

    /// Adds an event, timestamped now.
    pub fn add_event(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        attributes: EventAttributes<'_>,
    ) {
        if self.is_sampled() {
            let event = handle::event(name.into(), attributes);
            own(&mut self.extras).add_event(event);
        }
    }

    /// Sets the status.
    pub fn set_status(&mut self, status: SpanStatus) {
        if self.is_sampled() {
            own(&mut self.extras).status = Some(status);
        }
    }

    /// Marks the span failed with `message`.
    pub fn set_error(&mut self, message: &dyn fmt::Display) {
        if self.is_sampled() {
            self.set_status(handle::error_status(message));
        }
    }

    /// Links the span to another one it follows from.
    pub fn follows_from(&mut self, other: SpanContext) {
        if self.is_sampled() && other.is_valid() {
            own(&mut self.extras).add_link(handle::link(other));
        }
    }

    /// Sets the span's kind.
    pub fn set_kind(&mut self, kind: SpanKind) {
        if self.is_sampled() {
            own(&mut self.extras).kind = Some(kind);
        }
    }

    /// Makes the span current on this thread until the guard is dropped.
    pub fn entered(self) -> EnteredSpan {
        let previous = local::replace_current(self.ctx);
        EnteredSpan {
            span: self,
            previous,
            _not_send: PhantomData,
        }
    }

    /// Runs `f` with the span current, then ends it.
    pub fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        let _entered = self.entered();
        f()
    }

    /// Runs `future` with the span current while it is polled; the span ends with the future.
    pub fn instrument<F: Future>(self, future: F) -> Instrumented<F> {
        Instrumented {
            inner: WithContext::new(future, self.ctx),
            span: Some(self),
        }
    }

    /// Ends the span now.
    pub fn end(mut self) {
        self.finish(false);
    }

    fn finish(&mut self, cancelled: bool) {
        if std::mem::replace(&mut self.ended, true) || !self.ctx.is_sampled() {
            return;
        }
        let end = Instant::now();
        if std::thread::panicking() {
            let extras = own(&mut self.extras);
            if extras.status.is_none() {
                extras.status = Some(SpanStatus::Error {
                    message: Cow::Borrowed("panicked"),
                });
            }
        } else if cancelled {
            own(&mut self.extras).set_attribute(KeyValue::new("instrument.cancelled", true));
        }
        let extras = store::merge_into(self.ctx.span_id.to_u64(), self.extras.take());
        let is_error = extras
            .as_ref()
            .is_some_and(|e| matches!(e.status, Some(SpanStatus::Error { .. })));
        let record = span_record(
            manual_callsite(&self.meta),
            self.ctx,
            self.parent_span_id,
            (self.start, end),
            extras,
        );
        local::push(record, Priority::of(self.meta.level, is_error));
    }
}

impl Drop for ManualSpan {
    fn drop(&mut self) {
        self.finish(false);
    }
}

/// The record of a finished sampled span that is not an `#[instrument]` call (its status, if
/// any, is in `extras`).
pub(crate) fn span_record(
    callsite: &'static Callsite,
    ctx: SpanContext,
    parent_span_id: u64,
    (start, end): (Instant, Instant),
    extras: Option<Box<SpanExtras>>,
) -> Record {
    let trace = ctx.trace_id.to_u128();
    Record::Span(SpanRecord {
        callsite,
        trace_hi: (trace >> 64) as u64,
        trace_lo: trace as u64,
        span_id: ctx.span_id.to_u64(),
        parent_id: parent_span_id,
        start,
        end,
        status: StatusCode::Unset,
        flags: ctx.trace_flags,
        label_index: 0,
        extras,
    })
}

/// Interned callsites of spans made at run time (manual spans, `tracing` spans): one per
/// distinct key, leaked, so the records can refer to `&'static Callsite` like macro-made ones.
/// Keys come from static data (source locations, `tracing` metadata), so the table is bounded
/// by the program's code.
static CALLSITES: Mutex<Option<HashMap<CallsiteKey, &'static Callsite>>> = Mutex::new(None);

/// What identifies a run-time callsite: addresses of static data.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CallsiteKey {
    /// A manual span: name (address, length), target, location and level.
    Manual(usize, usize, usize, usize, u8),
    /// A `tracing` callsite: the address of its `'static` metadata.
    #[cfg(feature = "tracing")]
    Tracing(usize),
}

thread_local! {
    /// This thread's view of [`CALLSITES`], so a sampled span's end locks the table only the
    /// first time this thread ends a span of that callsite.
    static SEEN: std::cell::RefCell<HashMap<CallsiteKey, &'static Callsite>> =
        std::cell::RefCell::new(HashMap::new());
}

/// The interned callsite of `key`, made by `make` the first time.
pub(crate) fn intern(key: CallsiteKey, make: impl FnOnce() -> Callsite) -> &'static Callsite {
    let cached = SEEN
        .try_with(|seen| seen.try_borrow().ok().and_then(|m| m.get(&key).copied()))
        .ok()
        .flatten();
    if let Some(callsite) = cached {
        return callsite;
    }
    let callsite = {
        let mut table = CALLSITES.lock().unwrap_or_else(|p| p.into_inner());
        *table
            .get_or_insert_with(HashMap::new)
            .entry(key)
            .or_insert_with(|| Box::leak(Box::new(make())))
    };
    let _ = SEEN.try_with(|seen| {
        if let Ok(mut m) = seen.try_borrow_mut() {
            m.insert(key, callsite);
        }
    });
    callsite
}

fn manual_callsite(meta: &Meta) -> &'static Callsite {
    let target = meta.target.unwrap_or(meta.location.file());
    let key = CallsiteKey::Manual(
        meta.name.as_ptr() as usize,
        meta.name.len(),
        target.as_ptr() as usize ^ target.len().rotate_left(48),
        std::ptr::from_ref(meta.location) as usize,
        meta.level as u8,
    );
    intern(key, || {
        Callsite::new(
            meta.name,
            target,
            target,
            meta.location.file(),
            meta.location.line(),
            meta.level,
            &[],
        )
    })
}

/// A manual span made current on this thread ([`ManualSpan::entered`]); dropping it restores
/// the previous span and ends this one. Not `Send`: it belongs to the thread it was entered on
/// (use [`ManualSpan::instrument`] for async code).
#[derive(Debug)]
#[must_use = "the span is current only while the guard lives"]
pub struct EnteredSpan {
    span: ManualSpan,
    previous: SpanContext,
    _not_send: PhantomData<*const ()>,
}

impl std::ops::Deref for EnteredSpan {
    type Target = ManualSpan;
    fn deref(&self) -> &ManualSpan {
        &self.span
    }
}

impl std::ops::DerefMut for EnteredSpan {
    fn deref_mut(&mut self) -> &mut ManualSpan {
        &mut self.span
    }
}

impl Drop for EnteredSpan {
    fn drop(&mut self) {
        local::replace_current(self.previous);
        self.span.finish(false);
    }
}

pin_project_lite::pin_project! {
    /// A future inside a manual span ([`ManualSpan::instrument`]).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F> {
        #[pin]
        inner: WithContext<F>,
        span: Option<ManualSpan>,
    }

    impl<F> PinnedDrop for Instrumented<F> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped before it completed: the span ends as cancelled.
            if let Some(mut span) = this.project().span.take() {
                span.finish(true);
            }
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let poll = this.inner.poll(cx);
        if poll.is_ready() {
            if let Some(span) = this.span.take() {
                span.end();
            }
        }
        poll
    }
}
