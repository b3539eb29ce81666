//! The switches: values the pipeline sets (on install, shutdown and fork) and the hot path
//! reads. Every atomic here is a standalone value, so most accesses are `Relaxed`; each
//! `Ordering` is explained where it is used.
//!
//! This is a leaf: it imports nothing above `context::id`, so the thread-local state
//! ([`crate::local`]) can read it without importing the pipeline. The one upward need, starting
//! a fresh pipeline in a forked child, goes through [`ForkHooks`], which the pipeline installs.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::context::id::TraceId;

/// Per-thread ring capacity used when a thread makes its first record.
static RING_CAPACITY: AtomicUsize = AtomicUsize::new(crate::limits::DEFAULT_RING_CAPACITY);

/// Maximum length of a string attribute or log body, in bytes (UTF-8 boundaries respected).
static MAX_VALUE_LEN: AtomicUsize = AtomicUsize::new(4096);

/// `true` while a pipeline is installed and accepting records.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Sets the capacity of rings created from now on.
pub(crate) fn set_ring_capacity(capacity: usize) {
    // Relaxed: a standalone configuration value, read once when a thread creates its ring; a
    // thread racing with `init` may size its ring by the previous value, which is harmless.
    RING_CAPACITY.store(capacity, Ordering::Relaxed);
}

/// The capacity for a ring created now (at least 2).
pub(crate) fn ring_capacity() -> usize {
    // Relaxed: see `set_ring_capacity`.
    RING_CAPACITY.load(Ordering::Relaxed).max(2)
}

/// Sets the maximum length of string values captured from now on.
pub(crate) fn set_max_value_len(max: usize) {
    // Relaxed: a standalone configuration value; a value captured while `init` runs may be
    // truncated by the previous maximum, which is harmless.
    MAX_VALUE_LEN.store(max, Ordering::Relaxed);
}

/// The maximum length of a string value captured now.
#[inline]
pub(crate) fn max_value_len() -> usize {
    // Relaxed: see `set_max_value_len`.
    MAX_VALUE_LEN.load(Ordering::Relaxed)
}

/// Opens (`true`) or closes (`false`) the pipeline to new records.
pub(crate) fn set_active(active: bool) {
    // Release: publishes the writes made before it (ring capacity, sampler, the installed
    // handle) to any thread that loads the flag with Acquire. The hot path's Relaxed load in
    // `is_active` does not rely on it.
    ACTIVE.store(active, Ordering::Release);
}

/// `true` while a pipeline is installed and accepting records.
#[inline]
pub(crate) fn is_active() -> bool {
    // Relaxed: a standalone flag; a record racing with shutdown is either drained by the
    // exporter's last look or counted as dropped (after shutdown).
    ACTIVE.load(Ordering::Relaxed)
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
    /// The threshold that samples everything.
    pub(crate) const ALL: u64 = 1 << 63;

    /// The threshold now (0: nothing is sampled; [`Sampler::ALL`]: everything).
    #[inline]
    pub(crate) fn threshold(&self) -> u64 {
        // Relaxed: see `should_sample`.
        self.threshold.load(Ordering::Relaxed)
    }

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
        // Relaxed: see `should_sample`.
        self.threshold.store(threshold, Ordering::Relaxed);
    }
}

/// What the pipeline does around a `fork` (installed by the pipeline, called from below it).
#[derive(Clone, Copy)]
pub(crate) struct ForkHooks {
    /// In the child, in the fork handler: forget the parent's pipeline; `true` if one was
    /// running (a restart is then due).
    pub(crate) forget: fn() -> bool,
    /// In the child, on the first cold path that needs it: start a fresh pipeline.
    pub(crate) restart: fn(),
}

static FORK_HOOKS: OnceLock<ForkHooks> = OnceLock::new();

/// A restart of the pipeline is due in this (forked) process.
static RESTART_PENDING: AtomicBool = AtomicBool::new(false);

/// Installs the pipeline's fork hooks (the first call wins; they never change).
pub(crate) fn install_fork_hooks(hooks: ForkHooks) {
    let _ = FORK_HOOKS.set(hooks);
}

/// In a forked child (single-threaded, inside the fork handler): forgets the parent's pipeline
/// and, if one was running, marks a restart as pending.
pub(crate) fn forget_pipeline_after_fork() {
    if FORK_HOOKS.get().is_some_and(|h| (h.forget)()) {
        // Release: pairs with the Acquire in `restart_if_pending`, so the thread that sees
        // the flag also sees everything the fork handler reset before setting it.
        RESTART_PENDING.store(true, Ordering::Release);
    }
}

/// Starts the child's pipeline if this process was forked from a running one. Called on cold
/// paths only (first ring or shard of a thread, flush, stats).
#[inline]
pub(crate) fn restart_if_pending() {
    // Acquire (load): pairs with the Release store in `forget_pipeline_after_fork`; the cheap
    // load keeps the common case (no fork) to one read. AcqRel (swap): exactly one thread takes
    // the pending restart, and it sees the handler's writes.
    if RESTART_PENDING.load(Ordering::Acquire) && RESTART_PENDING.swap(false, Ordering::AcqRel) {
        if let Some(hooks) = FORK_HOOKS.get() {
            (hooks.restart)();
        }
    }
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
