//! The identity of a span ([`SpanContext`]) and how a new one is made from its parent.

use super::id::{IdGen, SpanId, TraceId};
use crate::switches::SAMPLER;

/// W3C trace flag: the trace is sampled.
pub const FLAG_SAMPLED: u8 = 0x01;

/// The identity of a span: what a child links to and what a log record carries.
///
/// ```
/// use instrument_runtime::{current_span_context, instrument};
///
/// #[instrument]
/// fn work() -> bool {
///     current_span_context().is_some()
/// }
/// assert!(work()); // an instrumented function always has a context, sampled or not
/// assert!(current_span_context().is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SpanContext {
    /// Trace id; invalid (zero) means "no span".
    pub trace_id: TraceId,
    /// Span id.
    pub span_id: SpanId,
    /// W3C trace flags (bit 0: sampled).
    pub trace_flags: u8,
}

impl SpanContext {
    /// The "no span" context.
    pub const NONE: SpanContext = SpanContext {
        trace_id: TraceId::INVALID,
        span_id: SpanId::INVALID,
        trace_flags: 0,
    };

    /// `true` unless this is [`SpanContext::NONE`].
    #[inline]
    pub const fn is_valid(&self) -> bool {
        self.trace_id.is_valid()
    }

    /// `true` if spans of this trace are recorded and exported.
    #[inline]
    pub const fn is_sampled(&self) -> bool {
        self.trace_flags & FLAG_SAMPLED != 0
    }

    /// A new span's context: a child of `parent` if it is valid, else a new root whose
    /// sampling is decided by [`Sampler`] (ParentBased(TraceIdRatio)).
    #[inline]
    pub(crate) fn child_of(parent: SpanContext, ids: &IdGen) -> SpanContext {
        if parent.is_valid() {
            SpanContext {
                trace_id: parent.trace_id,
                span_id: ids.span_id(),
                trace_flags: parent.trace_flags,
            }
        } else {
            let (trace_id, span_id) = ids.root_ids();
            SpanContext {
                trace_id,
                span_id,
                trace_flags: if SAMPLER.should_sample(trace_id) {
                    FLAG_SAMPLED
                } else {
                    0
                },
            }
        }
    }
}
