//! The identity of a span ([`SpanContext`]) and how a new one is made from its parent.

use super::id::{IdGen, SpanId, TraceId};
use crate::switches::{Sampler, SAMPLER};

/// W3C trace flag: the trace is sampled.
pub const FLAG_SAMPLED: u8 = 0x01;

/// Internal: the ids of this (unsampled) context are not drawn yet. Never exported: contexts
/// are drawn before anything outside the span reads them, and the bit is masked off any
/// context given from outside.
const FLAG_UNDRAWN: u8 = 0x80;

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
    /// sampling is decided by [`SAMPLER`] (ParentBased(TraceIdRatio)).
    ///
    /// With `lazy`, an unsampled span gets no ids yet: its context is [`Self::is_undrawn`] (the
    /// parent's trace id, or none for a root; no span id) until something reads it
    /// ([`Self::drawn`]): a log record, a child span, propagation, `current_span_context`. An
    /// unsampled call that nobody looks inside draws no random number at all. `parent` must
    /// itself be drawn.
    #[inline]
    pub(crate) fn child_of(parent: SpanContext, ids: &IdGen, lazy: bool) -> SpanContext {
        let flags = parent.trace_flags & !FLAG_UNDRAWN;
        if parent.is_valid() {
            if lazy && flags & FLAG_SAMPLED == 0 {
                return SpanContext {
                    trace_id: parent.trace_id,
                    span_id: SpanId::INVALID,
                    trace_flags: flags | FLAG_UNDRAWN,
                };
            }
            return SpanContext {
                trace_id: parent.trace_id,
                span_id: ids.span_id(),
                trace_flags: flags,
            };
        }
        // A root: the decision first, from the trace id's low half (the sampler's bits), drawn
        // only when the ratio is neither 0 nor 1.
        let threshold = SAMPLER.threshold();
        let (sampled, low) = if threshold == 0 {
            (false, None)
        } else if threshold >= Sampler::ALL {
            (true, None)
        } else {
            let low = ids.next_u64();
            ((low >> 1) < threshold, Some(low))
        };
        if !sampled && lazy {
            return SpanContext {
                trace_id: TraceId::INVALID,
                span_id: SpanId::INVALID,
                trace_flags: FLAG_UNDRAWN,
            };
        }
        let low = low.unwrap_or_else(|| ids.next_u64());
        let trace_id = TraceId::from_u128(u128::from(ids.next_u64()) << 64 | u128::from(low));
        // Unsampled: `low` (if drawn) was refused, and a threshold of 0 refuses every id, so
        // the id agrees with the decision either way.
        SpanContext {
            trace_id,
            span_id: ids.span_id(),
            trace_flags: if sampled { FLAG_SAMPLED } else { 0 },
        }
    }

    /// `true` for the context of an unsampled span whose ids are not drawn yet (see
    /// [`Self::child_of`]); never seen outside this thread's state and its span.
    #[inline]
    pub(crate) const fn is_undrawn(&self) -> bool {
        self.trace_flags & FLAG_UNDRAWN != 0
    }

    /// This context with its ids drawn (itself if they are).
    #[cold]
    pub(crate) fn drawn(self, ids: &IdGen) -> SpanContext {
        if !self.is_undrawn() {
            return self;
        }
        let trace_id = if self.trace_id.is_valid() {
            self.trace_id
        } else {
            unsampled_trace_id(ids, ids.trace_id())
        };
        SpanContext {
            trace_id,
            span_id: ids.span_id(),
            trace_flags: self.trace_flags & !FLAG_UNDRAWN,
        }
    }
}

/// A trace id that the sampler does not sample, so an unsampled root's id agrees with its
/// decision (a downstream TraceIdRatio sampler with the same ratio decides alike): `first`,
/// or a redraw while it would be sampled (a few tries; a ratio near 1 rarely gets here).
fn unsampled_trace_id(ids: &IdGen, first: TraceId) -> TraceId {
    let mut trace_id = first;
    for _ in 0..16 {
        if !SAMPLER.should_sample(trace_id) {
            break;
        }
        trace_id = ids.trace_id();
    }
    trace_id
}
