//! Exact accounting of records: emitted = exported + dropped (by reason) + in flight.
//!
//! Drops are rare (they happen under overload), so they are counted in global atomics; the hot
//! path of an admitted record touches none of these. "Emitted" is not counted on the hot path
//! at all: it is derived as (drained from rings) + (still in rings) + (dropped before a ring).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::buffer::record::Signal;

/// Number of [`DropReason`]s.
pub const REASONS: usize = 8;

/// Why a record was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The thread's ring had no room for a record of this priority.
    QueueFull,
    /// A record was made while the same thread was already making one (e.g. a log inside a
    /// `Debug` impl inside a log), deeper than the allowed nesting.
    Reentrant,
    /// The exporter failed permanently, or retries ran out.
    ExportFailed,
    /// The circuit breaker was open (the collector was down or slow).
    CircuitOpen,
    /// The record was made after shutdown.
    Shutdown,
    /// The record was made while its thread was exiting, after its buffers were torn down.
    ThreadExit,
    /// The receiver accepted the batch but rejected this record (OTLP partial success).
    Rejected,
    /// Held by a pipeline whose shutdown timed out (its exporter hung): counted when a new
    /// pipeline took over the rings, since that exporter thread may never finish.
    ShutdownTimeout,
}

impl DropReason {
    /// All reasons, in a stable order.
    pub const ALL: [DropReason; REASONS] = [
        DropReason::QueueFull,
        DropReason::Reentrant,
        DropReason::ExportFailed,
        DropReason::CircuitOpen,
        DropReason::Shutdown,
        DropReason::ThreadExit,
        DropReason::Rejected,
        DropReason::ShutdownTimeout,
    ];

    /// The `error.type` value exported in self-metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Reentrant => "reentrant",
            DropReason::ExportFailed => "export_failed",
            DropReason::CircuitOpen => "circuit_open",
            DropReason::Shutdown => "shutdown",
            DropReason::ThreadExit => "thread_exit",
            DropReason::Rejected => "rejected",
            DropReason::ShutdownTimeout => "shutdown_timeout",
        }
    }
}

/// Counts of one signal (spans or logs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalStats {
    /// Records made by the application (admitted to a ring or dropped before it).
    pub emitted: u64,
    /// Records an exporter accepted.
    pub exported: u64,
    /// Records dropped, by reason (indexed like [`DropReason::ALL`]).
    pub dropped: [u64; REASONS],
    /// Records in a ring or in the exporter's hands: neither exported nor dropped yet.
    pub in_flight: u64,
}

impl SignalStats {
    /// Dropped records for one reason.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason as usize]
    }
    /// Dropped records, all reasons.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }
    /// `true` when emitted = exported + dropped + in flight (always, by construction; tests
    /// check it).
    pub fn balances(&self) -> bool {
        self.emitted == self.exported + self.dropped_total() + self.in_flight
    }
}

/// Accounting for spans and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Span records.
    pub spans: SignalStats,
    /// Log records.
    pub logs: SignalStats,
}

/// Global drop counters, `[signal][reason]`.
static DROPPED: [[AtomicU64; REASONS]; 2] = [
    [const { AtomicU64::new(0) }; REASONS],
    [const { AtomicU64::new(0) }; REASONS],
];

/// In a forked child: the parent's drops are not the child's.
pub(crate) fn reset_after_fork() {
    for signal in &DROPPED {
        for counter in signal {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// Counts `n` dropped records.
pub(crate) fn count_drop(signal: Signal, reason: DropReason, n: u64) {
    // Relaxed: an independent counter; readers only need an eventually-exact sum, and the
    // exporter's stats snapshot is taken after the operations it accounts for (same thread
    // for exporter-side drops; drops at push happen-before the flush request that reads them).
    DROPPED[signal as usize][reason as usize].fetch_add(n, Ordering::Relaxed);
}

pub(crate) fn dropped(signal: Signal) -> [u64; REASONS] {
    std::array::from_fn(|r| DROPPED[signal as usize][r].load(Ordering::Relaxed))
}

/// Drops that happened before a record reached a ring (part of "emitted").
pub(crate) fn dropped_before_ring(d: &[u64; REASONS]) -> u64 {
    [
        DropReason::QueueFull,
        DropReason::Reentrant,
        DropReason::Shutdown,
        DropReason::ThreadExit,
    ]
    .iter()
    .map(|&r| d[r as usize])
    .sum()
}

/// What a flush (or shutdown) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// `false` if the deadline passed before the exporter thread answered.
    pub completed: bool,
    /// Records (spans + logs) exported during the flush.
    pub exported: u64,
    /// Records dropped during the flush.
    pub dropped: u64,
    /// Records neither exported nor dropped when the flush ended (0 after a complete flush,
    /// unless other threads kept emitting or the exporter is failing).
    pub in_flight: u64,
    /// Accounting as of the end of the flush (or the last known, if it timed out).
    pub stats: Stats,
    /// How long it took.
    pub elapsed: Duration,
}

impl FlushReport {
    pub(crate) fn between(before: &Stats, after: &Stats, elapsed: Duration) -> FlushReport {
        let delta = |f: fn(&SignalStats) -> u64| {
            f(&after.spans) + f(&after.logs) - f(&before.spans) - f(&before.logs)
        };
        FlushReport {
            completed: true,
            exported: delta(|s| s.exported),
            dropped: delta(SignalStats::dropped_total),
            in_flight: after.spans.in_flight + after.logs.in_flight,
            stats: *after,
            elapsed,
        }
    }

    pub(crate) fn timed_out(stats: Stats, elapsed: Duration) -> FlushReport {
        FlushReport {
            completed: false,
            in_flight: stats.spans.in_flight + stats.logs.in_flight,
            stats,
            elapsed,
            ..FlushReport::default()
        }
    }
}
