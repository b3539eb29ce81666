//! Exact accounting of records: emitted = exported + dropped (by reason) + in flight, for every
//! exporter.
//!
//! Drops before a ring (a full ring, re-entrancy, after shutdown, thread exit) are rare, so
//! they are counted in global atomics; the hot path of an admitted record touches none of
//! these. "Emitted" is not counted on the hot path at all: for each exporter it is derived as
//! (records offered to it) + (drained, not offered yet) + (still in rings) + (dropped before a
//! ring since the exporter joined). What happens after the drain (exported, dropped by its
//! filter, failures, panics, deadlines) is counted per exporter by its delivery worker (see
//! `collector::sink`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::buffer::record::Signal;

/// Number of [`DropReason`]s.
pub const REASONS: usize = 12;

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
    /// The exporter's filter (minimum level, signals) does not take this record: it was never
    /// meant for this exporter.
    Filtered,
    /// The exporter panicked while handling the batch holding this record.
    ExporterPanic,
    /// The record was still undelivered when a shutdown (or exporter swap) deadline passed:
    /// the exporter was hung or too slow.
    Timeout,
    /// The exporter's own queue (bounded by `Builder::exporter_queue`) was full: the exporter
    /// is slower than the application, or hung.
    ExporterQueueFull,
    /// Held by a pipeline whose exporter thread did not even answer its shutdown (it was
    /// stuck, e.g. in an exporter swap waiting for a hung exporter): counted, for each of that
    /// pipeline's exporters, when a new pipeline took over the rings, since that thread may
    /// never finish. (An exporter abandoned at its own pipeline's deadline counts `timeout`.)
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
        DropReason::Filtered,
        DropReason::ExporterPanic,
        DropReason::Timeout,
        DropReason::ExporterQueueFull,
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
            DropReason::Filtered => "filtered",
            DropReason::ExporterPanic => "exporter_panic",
            DropReason::Timeout => "timeout",
            DropReason::ExporterQueueFull => "exporter_queue_full",
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

impl std::ops::AddAssign for SignalStats {
    fn add_assign(&mut self, other: SignalStats) {
        self.emitted += other.emitted;
        self.exported += other.exported;
        for (d, o) in self.dropped.iter_mut().zip(other.dropped) {
            *d += o;
        }
        self.in_flight += other.in_flight;
    }
}

/// `emitted 100 = exported 97 + dropped 3 (export_failed 3) + in flight 0`.
impl std::fmt::Display for SignalStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "emitted {} = exported {} + dropped {}",
            self.emitted,
            self.exported,
            self.dropped_total()
        )?;
        let reasons: Vec<String> = DropReason::ALL
            .iter()
            .filter(|&&r| self.dropped(r) > 0)
            .map(|&r| format!("{} {}", r.as_str(), self.dropped(r)))
            .collect();
        if !reasons.is_empty() {
            write!(f, " ({})", reasons.join(", "))?;
        }
        write!(f, " + in flight {}", self.in_flight)
    }
}

/// `stdout: spans emitted 8 = ...; logs emitted 8 = ...`.
impl std::fmt::Display for ExporterStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: spans {}; logs {}", self.name, self.spans, self.logs)?;
        if self.panics > 0 {
            write!(f, "; {} panics caught", self.panics)?;
        }
        if self.stuck {
            write!(f, "; stuck")?;
        }
        Ok(())
    }
}

/// Accounting of one exporter (one sink of the pipeline).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExporterStats {
    /// The exporter's [`name`](crate::Exporter::name) (`"retired"` for the summed figures of
    /// exporters replaced by [`set_exporter`](crate::set_exporter)).
    pub name: &'static str,
    /// Span records, as this exporter saw them (filtered ones count as dropped `filtered`).
    pub spans: SignalStats,
    /// Log records, as this exporter saw them.
    pub logs: SignalStats,
    /// Panics caught in this exporter's `export`, `flush`, `poll`, `shutdown` or `Drop`.
    pub panics: u64,
    /// `true` while this exporter is in the running pipeline.
    pub active: bool,
    /// `true` while one call into this exporter has run longer than
    /// [`Builder::stuck_exporter_after`](crate::Builder::stuck_exporter_after): records offered
    /// to it meanwhile are dropped with reason `export_failed`.
    pub stuck: bool,
}

impl ExporterStats {
    /// `true` when emitted = exported + dropped + in flight for both signals.
    pub fn balances(&self) -> bool {
        self.spans.balances() && self.logs.balances()
    }
    /// Records (spans + logs) still in flight for this exporter.
    pub fn in_flight(&self) -> u64 {
        self.spans.in_flight + self.logs.in_flight
    }
}

/// Accounting for spans and logs.
///
/// `spans` and `logs` are the aggregate: the sum over every exporter of its figures (so with
/// two exporters every record counts twice, once per delivery; with one exporter they are that
/// exporter's figures). `exporters` has each exporter's own figures, in the order they were
/// added, and balances on its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Span records (every exporter's deliveries summed).
    pub spans: SignalStats,
    /// Log records (every exporter's deliveries summed).
    pub logs: SignalStats,
    /// Each exporter's figures.
    pub exporters: Vec<ExporterStats>,
}

impl Stats {
    /// The figures of the exporter with this name (the first, if several share it).
    pub fn exporter(&self, name: &str) -> Option<&ExporterStats> {
        self.exporters.iter().find(|e| e.name == name)
    }

    /// `true` when every exporter's figures and the aggregate balance.
    pub fn balances(&self) -> bool {
        self.spans.balances() && self.logs.balances() && self.exporters.iter().all(|e| e.balances())
    }

    pub(crate) fn from_exporters(exporters: Vec<ExporterStats>) -> Stats {
        let mut spans = SignalStats::default();
        let mut logs = SignalStats::default();
        for e in &exporters {
            spans += e.spans;
            logs += e.logs;
        }
        Stats {
            spans,
            logs,
            exporters,
        }
    }
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

/// Reasons a record is dropped before it reaches a ring (counted in the global atomics).
pub(crate) const BEFORE_RING: [DropReason; 4] = [
    DropReason::QueueFull,
    DropReason::Reentrant,
    DropReason::Shutdown,
    DropReason::ThreadExit,
];

/// Drops before a ring so far, by reason (other reasons 0).
pub(crate) fn dropped_before_ring(signal: Signal) -> [u64; REASONS] {
    let all = dropped(signal);
    let mut out = [0; REASONS];
    for r in BEFORE_RING {
        out[r as usize] = all[r as usize];
    }
    out
}

/// What a flush (or shutdown) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// `false` if the deadline passed before the exporter thread answered.
    pub completed: bool,
    /// Deliveries (spans + logs, summed over exporters) that succeeded during the flush.
    pub exported: u64,
    /// Deliveries dropped during the flush (summed over exporters).
    pub dropped: u64,
    /// Deliveries neither exported nor dropped when the flush ended, summed over exporters (0
    /// after a complete flush, unless other threads kept emitting; 0 after a shutdown, which
    /// counts what it could not deliver as dropped `timeout`).
    pub in_flight: u64,
    /// Accounting as of the end of the flush (or the last known, if it timed out), with each
    /// exporter's figures in [`Stats::exporters`].
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
            stats: after.clone(),
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
