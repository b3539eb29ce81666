//! The current span context (read from this thread's state).

use super::id::{SpanId, TraceId};
pub use super::span_context::{SpanContext, FLAG_SAMPLED};
use crate::local;

/// The context of the span current on this thread (or in this task, while it is polled), if
/// any.
pub fn current_span_context() -> Option<SpanContext> {
    Some(local::current()).filter(SpanContext::is_valid)
}

/// The current trace id, for users with their own log formatters (32 lowercase hex digits
/// when displayed).
pub fn current_trace_id() -> Option<TraceId> {
    current_span_context().map(|c| c.trace_id)
}

/// The current span id (16 lowercase hex digits when displayed).
pub fn current_span_id() -> Option<SpanId> {
    current_span_context().map(|c| c.span_id)
}
