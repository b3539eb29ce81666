//! The span handle: what code running inside a span can do to it after it started. Record a
//! field (one declared with `fields(name = Empty)` or any new key), add a timestamped event,
//! set the status, link it to another span, set its kind, read its context.
//!
//! ```
//! use instrument_runtime::{current_span, display, instrument, SpanStatus};
//!
//! #[instrument]
//! fn load(id: u32) -> usize {
//!     let rows = 3;
//!     let span = current_span();
//!     span.record("rows", rows);
//!     span.record("cache", display(&"miss"));
//!     span.add_event("retry", &[("attempt", &2), ("reason", &"timeout")]);
//!     span.set_status(SpanStatus::Ok);
//!     rows
//! }
//! # load(1);
//! ```
//!
//! Every method first checks that the span is sampled: for an unsampled span (or no span)
//! nothing is allocated, formatted or locked. Records are bounded per span: at most
//! [`MAX_SPAN_ATTRIBUTES`] attributes (a key recorded again replaces its value), at most
//! [`MAX_SPAN_EVENTS`] events of at most [`MAX_EVENT_ATTRIBUTES`] attributes each, at most
//! [`MAX_SPAN_LINKS`] links; what does not fit is counted in the exported span's
//! [`dropped`](crate::export::SpanData::dropped) counts.
//!
//! What the handle records for a span it does not own (an `#[instrument]` span, a `tracing`
//! span) waits in a small bounded side table keyed by span id until that span ends; a span
//! that ends without such records pays one relaxed atomic load for it.

use std::borrow::Cow;
use std::fmt;

use super::current::SpanContext;
use super::store;
use crate::attributes::{self, FieldValue};
use crate::buffer::record::{EventRaw, SpanExtras};
use crate::clock::Instant;
use crate::data::{KeyValue, SpanKind, SpanLink, SpanStatus, Value};
use crate::local;

pub use crate::buffer::record::{
    MAX_EVENT_ATTRIBUTES, MAX_SPAN_ATTRIBUTES, MAX_SPAN_EVENTS, MAX_SPAN_LINKS,
};

/// The span current on this thread (or in this task while it is polled): an `#[instrument]`
/// call, a manual span that was entered, or a `tracing` span entered through the bridge.
///
/// With no current span, the handle is inert: every method does nothing.
#[inline]
pub fn current_span() -> CurrentSpan {
    CurrentSpan {
        ctx: local::current(),
    }
}

/// A handle to the span that was current when [`current_span`] was called. Cheap to copy;
/// records go to that span even if another one is current by the time they are made.
#[derive(Clone, Copy, Debug)]
pub struct CurrentSpan {
    ctx: SpanContext,
}

/// An event's attributes: `&[("key", &value)]`, each value a [`FieldValue`] (wrap others in
/// [`display`] or [`debug`]). Values are converted only when the span is sampled.
pub type EventAttributes<'a> = &'a [(&'static str, &'a dyn FieldValue)];

impl CurrentSpan {
    /// The span's context (`None` when there is no current span).
    pub fn context(&self) -> Option<SpanContext> {
        Some(self.ctx).filter(SpanContext::is_valid)
    }

    /// `true` if the span is recorded and exported (its records are kept only then).
    #[inline]
    pub fn is_sampled(&self) -> bool {
        self.ctx.is_valid() && self.ctx.is_sampled()
    }

    /// Records an attribute: a field declared earlier (`fields(name)`, `name = Empty`) gets
    /// its value, a key already set gets a new value, any other key is added.
    pub fn record<V: FieldValue>(&self, key: impl Into<Cow<'static, str>>, value: V) -> &Self {
        if self.is_sampled() {
            let kv = KeyValue {
                key: key.into(),
                value: value.to_value(),
            };
            store::with(self.ctx.span_id.to_u64(), |e| e.set_attribute(kv));
        }
        self
    }

    /// Adds an event, timestamped now, with attributes.
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: EventAttributes<'_>) {
        if self.is_sampled() {
            let event = event(name.into(), attributes);
            store::with(self.ctx.span_id.to_u64(), |e| e.add_event(event));
        }
    }

    /// Sets the status; it wins over the call's outcome (an `Ok` set here stays `Ok` even if
    /// the function then returns `Err`).
    pub fn set_status(&self, status: SpanStatus) {
        if self.is_sampled() {
            store::with(self.ctx.span_id.to_u64(), |e| e.status = Some(status));
        }
    }

    /// Marks the span failed with `message` (its `Display` form, truncated).
    pub fn set_error(&self, message: &dyn fmt::Display) {
        if self.is_sampled() {
            self.set_status(error_status(message));
        }
    }

    /// Links the span to another one it follows from (an invalid context is ignored).
    pub fn follows_from(&self, other: SpanContext) {
        if self.is_sampled() && other.is_valid() {
            store::with(self.ctx.span_id.to_u64(), |e| e.add_link(link(other)));
        }
    }

    /// Sets the span's kind.
    pub fn set_kind(&self, kind: SpanKind) {
        if self.is_sampled() {
            store::with(self.ctx.span_id.to_u64(), |e| e.kind = Some(kind));
        }
    }
}

/// An event made from the handle's arguments (values converted here, on the calling thread).
pub(crate) fn event(name: Cow<'static, str>, attributes: EventAttributes<'_>) -> EventRaw {
    let mut event = EventRaw::new(name, Instant::now());
    for (key, value) in attributes {
        event.push(KeyValue {
            key: Cow::Borrowed(key),
            value: value.to_value(),
        });
    }
    event
}

pub(crate) fn error_status(message: &dyn fmt::Display) -> SpanStatus {
    let Value::Str(message) = attributes::display(message) else {
        unreachable!("display() makes a string")
    };
    SpanStatus::Error { message }
}

pub(crate) fn link(ctx: SpanContext) -> SpanLink {
    SpanLink {
        trace_id: ctx.trace_id,
        span_id: ctx.span_id,
        trace_flags: ctx.trace_flags,
    }
}

/// `extras`, made if absent (for spans that own their extras).
pub(crate) fn own(extras: &mut Option<Box<SpanExtras>>) -> &mut SpanExtras {
    extras.get_or_insert_with(Default::default)
}

/// A value recorded in its `Display` form, formatted only if the span is sampled.
#[derive(Clone, Copy, Debug)]
pub struct DisplayValue<T>(T);

/// A value recorded in its `Debug` form, formatted only if the span is sampled.
#[derive(Clone, Copy, Debug)]
pub struct DebugValue<T>(T);

/// Records `value` by its `Display` form: `current_span().record("user", display(&user))`.
pub fn display<T: fmt::Display>(value: T) -> DisplayValue<T> {
    DisplayValue(value)
}

/// Records `value` by its `Debug` form.
pub fn debug<T: fmt::Debug>(value: T) -> DebugValue<T> {
    DebugValue(value)
}

impl<T: fmt::Display> FieldValue for DisplayValue<T> {
    fn to_value(&self) -> Value {
        attributes::display(&self.0)
    }
}

impl<T: fmt::Debug> FieldValue for DebugValue<T> {
    fn to_value(&self) -> Value {
        attributes::debug(&self.0)
    }
}
