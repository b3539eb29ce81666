//! The current span context, and the sampling decision for new spans.

use std::sync::atomic::{AtomicU64, Ordering};

use super::id::{IdGen, SpanId, TraceId};
use crate::local;

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

/// Head sampler: TraceIdRatio for roots, parent's decision for children.
///
/// The threshold is 0 while no pipeline is installed, so nothing is sampled (and no record is
/// made) before `init()` or after shutdown; metrics are never sampled.
pub(crate) struct Sampler {
    /// A root is sampled when `(low 64 bits of trace id) >> 1 < threshold`; `1 << 63` samples
    /// everything. Written on install/shutdown only.
    threshold: AtomicU64,
}

pub(crate) static SAMPLER: Sampler = Sampler {
    threshold: AtomicU64::new(0),
};

impl Sampler {
    #[inline]
    pub(crate) fn should_sample(&self, trace_id: TraceId) -> bool {
        // Relaxed: a standalone configuration value; a stale read samples one span by the old
        // ratio, which is harmless.
        ((trace_id.to_u128() as u64) >> 1) < self.threshold.load(Ordering::Relaxed)
    }

    /// Sets the ratio (clamped to 0..=1; NaN counts as 0).
    pub(crate) fn set_ratio(&self, ratio: f64) {
        let r = if ratio.is_nan() {
            0.0
        } else {
            ratio.clamp(0.0, 1.0)
        };
        let threshold = if r >= 1.0 {
            1u64 << 63
        } else {
            (r * (1u64 << 63) as f64) as u64
        };
        self.threshold.store(threshold, Ordering::Relaxed);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_bounds() {
        let s = Sampler {
            threshold: AtomicU64::new(0),
        };
        let max = TraceId::from_u128(u128::MAX);
        let min = TraceId::from_u128(1);
        assert!(!s.should_sample(min));
        s.set_ratio(1.0);
        assert!(s.should_sample(max) && s.should_sample(min));
        s.set_ratio(0.5);
        assert!(!s.should_sample(max));
        assert!(s.should_sample(min));
        s.set_ratio(f64::NAN);
        assert!(!s.should_sample(min));
    }
}
