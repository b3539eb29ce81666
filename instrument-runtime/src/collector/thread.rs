//! The exporter thread's loop.
//!
//! It wakes on its interval, when a ring passes half full, or on a command (flush, exporter
//! swap, shutdown); it never needs the application's async runtime, and every wait an
//! application thread does on it has a deadline (see [`crate::pipeline`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::breaker::{Breaker, Verdict};
use super::{convert, self_metrics};
use crate::buffer::record::{Record, Signal};
use crate::buffer::registry::{self, Generation, RingHandle};
use crate::clock::WallClock;
use crate::config::Config;
use crate::data::{Batch, MetricsSnapshot, Resource};
use crate::export::{ExportError, Exporter};
use crate::metrics::aggregate::Aggregator;
use crate::stats::{self, DropReason, FlushReport, SignalStats, Stats};

/// Longest sleep between two drains, so rings are emptied promptly even without pressure.
const MAX_PARK: Duration = Duration::from_millis(50);

/// A request from an application thread; each carries where to send the answer.
pub(crate) enum Command {
    Flush(SyncSender<FlushReport>),
    SetExporter(Box<dyn Exporter>, SyncSender<Result<(), ExportError>>),
    Shutdown(SyncSender<FlushReport>),
}

/// State that outlives one pipeline: rings and metric shards keep their data across a
/// shutdown and a new `init()`, so counts stay exact and no buffered record is forgotten.
#[derive(Default)]
pub(crate) struct Persistent {
    rings: Vec<RingHandle>,
    metrics: Aggregator,
    start_unix_nanos: u64,
}

/// Where `Persistent` waits between two pipelines.
pub(crate) static PARKED: Mutex<Option<Persistent>> = Mutex::new(None);

/// In a forked child: the parked state holds the parent's rings and counts; forget it. (If the
/// lock was held at the fork, a thread of the parent held it; the child then starts fresh
/// because `Collector::new` only `try_lock`s.)
pub(crate) fn forget_after_fork() {
    if let Ok(mut parked) = PARKED.try_lock() {
        std::mem::forget(parked.take());
    }
    crate::metrics::aggregate::forget_after_fork();
}

/// Published after every cycle, for `stats()` readers on other threads.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) stats: Mutex<Stats>,
}

pub(crate) struct Collector {
    p: Persistent,
    /// This thread's right to drain the rings, and its account of the records it holds.
    gen: Generation,
    exporter: Box<dyn Exporter>,
    cfg: Config,
    resource: Arc<Resource>,
    clock: WallClock,
    rx: Receiver<Command>,
    shared: Arc<Shared>,
    pending: Batch,
    /// A batch that failed with a retryable error, and when to try it again.
    retry: Option<(Batch, Instant)>,
    breaker: Breaker,
    next_export: Instant,
    next_metrics: Instant,
}

impl Collector {
    pub(crate) fn new(
        exporter: Box<dyn Exporter>,
        cfg: Config,
        rx: Receiver<Command>,
        shared: Arc<Shared>,
    ) -> Collector {
        let clock = WallClock::new();
        let mut p = PARKED
            .try_lock()
            .ok()
            .and_then(|mut parked| parked.take())
            .unwrap_or_default();
        if p.start_unix_nanos == 0 {
            p.start_unix_nanos = clock.now_unix_nanos();
        }
        let resource = Arc::new(Resource {
            service_name: cfg.service_name.clone(),
            attributes: cfg.resource_attributes.clone(),
        });
        let now = Instant::now();
        Collector {
            p,
            gen: Generation::begin(),
            exporter,
            resource,
            clock,
            rx,
            shared,
            pending: Batch::default(),
            retry: None,
            breaker: Breaker::default(),
            next_export: now + cfg.export_interval,
            next_metrics: now + cfg.metrics_interval,
            cfg,
        }
    }

    /// The thread body. Returns after a shutdown command (or when every handle is gone).
    pub(crate) fn run(mut self) {
        crate::local::mark_exporter_thread();
        loop {
            match self.rx.try_recv() {
                Ok(Command::Flush(reply)) => {
                    let report = self.flush();
                    let _ = reply.try_send(report);
                }
                Ok(Command::SetExporter(exporter, reply)) => {
                    let _ = reply.try_send(self.swap(exporter));
                }
                Ok(Command::Shutdown(reply)) => {
                    let report = self.shutdown();
                    let _ = reply.try_send(report);
                    return;
                }
                Err(TryRecvError::Disconnected) => {
                    self.shutdown();
                    return;
                }
                Err(TryRecvError::Empty) => {
                    self.cycle(Instant::now(), false);
                    self.publish();
                    std::thread::park_timeout(self.park_time());
                }
            }
        }
    }

    fn park_time(&self) -> Duration {
        let now = Instant::now();
        let due = self.next_export.min(self.next_metrics);
        due.saturating_duration_since(now).min(MAX_PARK)
    }

    /// One pass: take new registrations, retry or drain and export, snapshot metrics if due.
    fn cycle(&mut self, now: Instant, force: bool) {
        self.gen.rings(&mut self.p.rings);
        self.p.metrics.register_new();
        if self.retry_held(now, force) {
            return;
        }
        if self.breaker.is_open(now) {
            self.drain_and_drop();
        } else {
            self.drain_and_export(now, force);
        }
        if force || now >= self.next_metrics {
            self.next_metrics = now + self.cfg.metrics_interval;
            self.export_metrics();
        }
        self.p.metrics.retire_exited();
        self.p.rings.retain(|r| !r.is_finished());
    }

    /// Tries the held batch if its time has come; `true` while a batch is still held.
    fn retry_held(&mut self, now: Instant, force: bool) -> bool {
        match self.retry.take() {
            Some((batch, at)) if force || now >= at => {
                self.send(batch);
                self.retry.is_some()
            }
            Some(held) => {
                self.retry = Some(held);
                true
            }
            None => false,
        }
    }

    fn drain_and_export(&mut self, now: Instant, force: bool) {
        let max = self.cfg.max_batch.max(1);
        'rings: for i in 0..self.p.rings.len() {
            let ring = self.p.rings[i].clone();
            loop {
                // One lock of the ring per chunk; the export happens after it is released.
                let room = max.saturating_sub(self.pending.records()).max(1);
                let taken = ring.pop_up_to(room, |record| self.take(record));
                if self.pending.records() >= max {
                    self.send_pending();
                    if self.blocked() {
                        break 'rings;
                    }
                }
                if taken < room {
                    break; // the ring is empty
                }
            }
        }
        if (force || now >= self.next_export) && self.retry.is_none() {
            self.next_export = now + self.cfg.export_interval;
            if self.pending.records() > 0 {
                self.send_pending();
            }
        }
    }

    /// `true` while nothing more may be sent now: a batch waits for its retry, or the circuit
    /// just opened (what is pending is then dropped by the next cycle, counted).
    fn blocked(&self) -> bool {
        self.retry.is_some() || self.breaker.is_open(Instant::now())
    }

    /// Circuit open: empty the rings (so the application keeps running) and count the drops.
    fn drain_and_drop(&mut self) {
        let mut dropped = [
            self.pending.spans.len() as u64,
            self.pending.logs.len() as u64,
        ];
        self.pending = Batch::default();
        for ring in &mut self.p.rings {
            while let Some(record) = ring.pop() {
                dropped[record.signal() as usize] += 1;
                self.gen.drained(record.signal(), 1);
            }
        }
        self.gen
            .dropped(Signal::Span, DropReason::CircuitOpen, dropped[0]);
        self.gen
            .dropped(Signal::Log, DropReason::CircuitOpen, dropped[1]);
    }

    fn take(&mut self, record: Record) {
        self.gen.drained(record.signal(), 1);
        match record {
            Record::Span(s) => self.pending.spans.push(convert::span(s, &self.clock)),
            Record::Log(l) => self.pending.logs.push(convert::log(*l, &self.clock)),
        }
    }

    /// Sends spans and logs as two batches, each judged on its own: an exporter that delivers
    /// one signal and fails the other (OTLP sends them to two endpoints) gets only the failed
    /// one retried, so nothing is exported twice. While a batch is held for retry, the rest
    /// stays pending.
    fn send_pending(&mut self) {
        let spans = std::mem::take(&mut self.pending.spans);
        if !spans.is_empty() {
            self.send(Batch {
                spans,
                resource: Some(Arc::clone(&self.resource)),
                ..Batch::default()
            });
            if self.blocked() {
                return;
            }
        }
        let logs = std::mem::take(&mut self.pending.logs);
        if !logs.is_empty() {
            self.send(Batch {
                logs,
                resource: Some(Arc::clone(&self.resource)),
                ..Batch::default()
            });
        }
    }

    /// One export attempt of a batch of records, judged by the breaker.
    fn send(&mut self, batch: Batch) {
        if !self.gen.is_current() {
            return; // superseded: these records were counted as dropped at the takeover
        }
        let result = self.call_exporter(|e| e.export(&batch));
        let now = Instant::now();
        let counts = [batch.spans.len() as u64, batch.logs.len() as u64];
        match self.breaker.on_result(&result, now) {
            Verdict::Exported => {
                self.gen.exported(Signal::Span, counts[0]);
                self.gen.exported(Signal::Log, counts[1]);
            }
            Verdict::Partial(rejected) => {
                for (i, signal) in [Signal::Span, Signal::Log].into_iter().enumerate() {
                    let dropped = rejected.min(counts[i]);
                    self.gen.exported(signal, counts[i] - dropped);
                    self.gen.dropped(signal, DropReason::Rejected, dropped);
                }
            }
            Verdict::RetryAt(at) => self.retry = Some((batch, at)),
            Verdict::Drop => {
                self.gen
                    .dropped(Signal::Span, DropReason::ExportFailed, counts[0]);
                self.gen
                    .dropped(Signal::Log, DropReason::ExportFailed, counts[1]);
            }
        }
        if let Err(e) = result {
            crate::config::warn_once(format!("exporter {:?} failed: {e}", self.exporter.name()));
        }
    }

    /// Calls the exporter; a panicking exporter counts as a permanent failure instead of
    /// killing the exporter thread.
    fn call_exporter(
        &mut self,
        f: impl FnOnce(&mut dyn Exporter) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        // What this thread holds must be on record before a call that may never return.
        self.gen.settle();
        let exporter = &mut *self.exporter;
        catch_unwind(AssertUnwindSafe(|| f(exporter)))
            .unwrap_or_else(|_| Err(ExportError::permanent("the exporter panicked")))
    }

    fn export_metrics(&mut self) {
        let stats = self.stats();
        let mut metrics = self.p.metrics.call_metrics();
        metrics.extend(self_metrics::metrics(&stats));
        let batch = Batch {
            metrics: Some(MetricsSnapshot {
                start_unix_nanos: self.p.start_unix_nanos,
                time_unix_nanos: self.clock.now_unix_nanos(),
                metrics,
            }),
            resource: Some(Arc::clone(&self.resource)),
            ..Batch::default()
        };
        // Snapshots are cumulative: a failed one is superseded by the next, nothing to retry.
        if let Err(e) = self.call_exporter(|e| e.export(&batch)) {
            crate::config::warn_once(format!("metrics export failed: {e}"));
        }
    }

    /// Exports everything buffered now; bounded so threads that keep logging cannot hold the
    /// flush forever.
    fn flush(&mut self) -> FlushReport {
        let started = Instant::now();
        let before = self.stats();
        self.gen.rings(&mut self.p.rings);
        let buffered: usize = self.p.rings.iter().map(RingHandle::len).sum();
        let rounds = 2 + buffered / self.cfg.max_batch.max(1);
        for _ in 0..rounds {
            self.cycle(Instant::now(), true);
            if self.retry.is_some() || self.p.rings.iter().all(|r| r.len() == 0) {
                break;
            }
        }
        if self.retry.is_none() && self.pending.records() > 0 {
            self.send_pending();
        }
        let _ = self.call_exporter(|e| e.flush());
        let after = self.publish();
        FlushReport::between(&before, &after, started.elapsed())
    }

    fn swap(&mut self, exporter: Box<dyn Exporter>) -> Result<(), ExportError> {
        self.flush();
        let mut old = std::mem::replace(&mut self.exporter, exporter);
        // The retry state belonged to the old exporter's destination.
        self.breaker = Breaker::default();
        let shutdown = catch_unwind(AssertUnwindSafe(|| old.shutdown()))
            .unwrap_or_else(|_| Err(ExportError::permanent("the exporter panicked")));
        if let Some((batch, _)) = self.retry.take() {
            self.send(batch); // give a held batch one chance with the new exporter
        }
        shutdown
    }

    fn shutdown(mut self) -> FlushReport {
        let report = self.flush();
        if let Some((batch, _)) = self.retry.take() {
            self.gen.dropped(
                Signal::Span,
                DropReason::ExportFailed,
                batch.spans.len() as u64,
            );
            self.gen.dropped(
                Signal::Log,
                DropReason::ExportFailed,
                batch.logs.len() as u64,
            );
        }
        let _ = self.call_exporter(|e| e.shutdown());
        let final_stats = self.publish();
        *lock(&PARKED) = Some(std::mem::take(&mut self.p));
        FlushReport {
            stats: final_stats,
            ..report
        }
    }

    fn publish(&mut self) -> Stats {
        let stats = self.stats();
        *lock(&self.shared.stats) = stats;
        stats
    }

    /// Exact accounting at this instant (on the exporter thread, nothing moves but the rings,
    /// which are read once).
    fn stats(&mut self) -> Stats {
        self.gen.settle();
        let in_rings = self.records_in_rings();
        let mut held = [
            self.pending.spans.len() as u64,
            self.pending.logs.len() as u64,
        ];
        if let Some((b, _)) = &self.retry {
            held[0] += b.spans.len() as u64;
            held[1] += b.logs.len() as u64;
        }
        let signal = |s: Signal| {
            let i = s as usize;
            let dropped = stats::dropped(s);
            SignalStats {
                emitted: registry::drained_total(s)
                    + in_rings[i]
                    + stats::dropped_before_ring(&dropped),
                exported: registry::exported_total(s),
                dropped,
                in_flight: in_rings[i] + held[i],
            }
        };
        Stats {
            spans: signal(Signal::Span),
            logs: signal(Signal::Log),
        }
    }

    /// Records waiting in rings, per signal, read without consuming them.
    fn records_in_rings(&mut self) -> [u64; 2] {
        let mut n = [0u64; 2];
        for ring in &self.p.rings {
            ring.count_signals(&mut n);
        }
        n
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Only this crate's code runs under these locks and none of it panics while holding them;
    // recover anyway rather than propagate a poison.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
