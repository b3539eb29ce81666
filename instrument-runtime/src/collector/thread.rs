//! The exporter thread's loop.
//!
//! It wakes on its interval, when a ring passes half full, or on a command (flush, exporter
//! swap, shutdown); it drains every ring once, converts once, and offers each batch to every
//! sink (see [`super::sink`]): it never calls an exporter itself, so no exporter can stall it.
//! It never needs the application's async runtime, and every wait an application thread does
//! on it has a deadline (see [`crate::pipeline`]).
//!
//! **Takeover.** The exporter thread drains under a [`Generation`] (see
//! [`crate::buffer::registry`]) and keeps a process-wide account of its pipeline: its sinks and
//! the final figures of exporters that left it. Starting a pipeline supersedes the previous
//! one: if that one had not closed its account (its shutdown timed out, or it is merely late),
//! its drain thread drains and hands over nothing more, each of its sinks is abandoned, and
//! what each holds (plus the records drained and never offered) is counted dropped
//! `shutdown_timeout` for that exporter. Either way the previous pipeline's exporters join the
//! new one's figures as retired exporters, so the totals are process-wide across pipelines.

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::sink::{Ledger, Sink};
use super::{convert, self_metrics};
use crate::buffer::registry::{Drained, Generation, RingHandle};
use crate::clock::WallClock;
use crate::config::Config;
use crate::data::{Batch, LogData, MetricsSnapshot, Resource, SpanData};
use crate::export::{ExportError, Exporter, SinkFilter};
use crate::metrics::aggregate::Aggregator;
use crate::metrics::exemplar::Counted;
use crate::stats::{ExporterStats, FlushReport, Stats, REASONS};

/// Longest sleep between two drains, so rings are emptied promptly even without pressure.
const MAX_PARK: Duration = Duration::from_millis(50);

/// An exporter with what it takes.
pub(crate) type SinkSpec = (Box<dyn Exporter>, SinkFilter);

/// A request from an application thread; each carries where to send the answer and the
/// deadline by which the exporter thread answers.
pub(crate) enum Command {
    Flush(SyncSender<FlushReport>, Instant),
    SetExporters(Vec<SinkSpec>, SyncSender<Result<(), ExportError>>, Instant),
    Shutdown(SyncSender<FlushReport>, Instant),
}

/// State that outlives one pipeline: rings and metric shards keep their data across a
/// shutdown and a new `init()`, so no buffered record is forgotten.
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
    if let Ok(mut account) = ACCOUNT.try_lock() {
        std::mem::forget(account.take());
    }
    crate::metrics::aggregate::forget_after_fork();
}

/// A pipeline's account, shared with the pipeline that will supersede it.
#[derive(Default)]
struct Account {
    /// The running sinks.
    sinks: Vec<Ledger>,
    /// Final figures of exporters that left (swapped out, or of earlier pipelines).
    retired: Vec<ExporterStats>,
    /// Drops before a ring when the figures in `retired` were taken.
    retired_at: Option<[[u64; REASONS]; 2]>,
    /// The pipeline shut down and put its sinks' final figures in `retired`.
    closed: bool,
    /// A newer pipeline took over: this account is no longer written.
    superseded: bool,
}

/// The account of the running (or last) pipeline.
static ACCOUNT: Mutex<Option<Arc<Mutex<Account>>>> = Mutex::new(None);

/// Starts a new pipeline's account and takes over from the previous one (see the module
/// docs); returns the figures of the exporters that came before, and the drops-before-a-ring
/// snapshot they end at (where the new sinks' figures start).
fn take_over(held: [u64; 2]) -> (Arc<Mutex<Account>>, Vec<ExporterStats>, [[u64; REASONS]; 2]) {
    let next = Arc::new(Mutex::new(Account::default()));
    let previous = lock(&ACCOUNT).replace(Arc::clone(&next));
    let mut retired = Vec::new();
    let mut at = super::sink::before_ring_now();
    if let Some(previous) = previous {
        let mut account = lock(&previous);
        if !account.closed {
            // Superseded while running: the exporter thread is stuck or late.
            for ledger in std::mem::take(&mut account.sinks) {
                let stats = ledger.supersede(held, &at);
                merge_retired(&mut account.retired, stats);
            }
            account.retired_at = Some(at);
        }
        account.superseded = true;
        retired = account.retired.clone();
        at = account.retired_at.unwrap_or(at);
    }
    lock(&next).retired = retired.clone();
    (next, retired, at)
}

/// Adds an exporter's final figures to the retired ones (merged by name).
fn merge_retired(retired: &mut Vec<ExporterStats>, mut stats: ExporterStats) {
    stats.active = false;
    match retired.iter_mut().find(|r| r.name == stats.name) {
        Some(r) => {
            r.spans += stats.spans;
            r.logs += stats.logs;
            r.panics += stats.panics;
        }
        None => retired.push(stats),
    }
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
    /// This pipeline's process-wide account.
    account: Arc<Mutex<Account>>,
    sinks: Vec<Sink>,
    /// Final figures of exporters replaced by a swap, merged by name.
    retired: Vec<ExporterStats>,
    cfg: Config,
    resource: Arc<Resource>,
    clock: WallClock,
    rx: Receiver<Command>,
    shared: Arc<Shared>,
    pending_spans: Vec<SpanData>,
    pending_logs: Vec<LogData>,
    /// Reused to reassemble inline log records.
    scratch: Vec<u8>,
    next_export: Instant,
    next_metrics: Instant,
}

impl Collector {
    pub(crate) fn new(
        sinks: Vec<Sink>,
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
            attributes: crate::resource::with_detected(&cfg.resource_attributes),
        });
        let now = Instant::now();
        let (gen, held) = Generation::begin();
        let (account, retired, at) = take_over(held);
        let mut sinks = sinks;
        for sink in &mut sinks {
            sink.rebase(&at);
        }
        lock(&account).sinks = sinks.iter().map(Sink::ledger).collect();
        let mut collector = Collector {
            p,
            gen,
            account,
            sinks,
            retired,
            resource,
            clock,
            rx,
            shared,
            pending_spans: Vec::new(),
            pending_logs: Vec::new(),
            scratch: Vec::new(),
            next_export: now + cfg.export_interval,
            next_metrics: now + cfg.metrics_interval,
            cfg,
        };
        collector.publish(true);
        collector
    }

    /// The thread body. Returns after a shutdown command (or when every handle is gone).
    pub(crate) fn run(mut self) {
        crate::local::mark_exporter_thread();
        loop {
            match self.rx.try_recv() {
                Ok(Command::Flush(reply, deadline)) => {
                    let report = self.flush(deadline);
                    let _ = reply.try_send(report);
                }
                Ok(Command::SetExporters(sinks, reply, deadline)) => {
                    let _ = reply.try_send(self.swap(sinks, deadline));
                }
                Ok(Command::Shutdown(reply, deadline)) => {
                    let report = self.shutdown(deadline);
                    let _ = reply.try_send(report);
                    return;
                }
                Err(TryRecvError::Disconnected) => {
                    let deadline = Instant::now() + self.cfg.shutdown_timeout;
                    self.shutdown(deadline);
                    return;
                }
                Err(TryRecvError::Empty) => {
                    self.cycle(Instant::now(), false);
                    self.publish(false);
                    // Under sustained pressure a ring is refilled while it is drained and stays
                    // above half: its producer's wake is not re-armed, so parking would leave
                    // it full (dropping) until the park times out. Drain again at once.
                    if !self.p.rings.iter().any(RingHandle::is_half_full) {
                        std::thread::park_timeout(self.park_time());
                    }
                }
            }
        }
    }

    fn park_time(&self) -> Duration {
        let now = Instant::now();
        let due = self.next_export.min(self.next_metrics);
        due.saturating_duration_since(now).min(MAX_PARK)
    }

    /// One pass: take new registrations, drain every ring (handing full batches to the sinks
    /// as they fill), hand the rest over when due, snapshot metrics if due.
    fn cycle(&mut self, now: Instant, force: bool) {
        self.gen.rings(&mut self.p.rings);
        self.p.metrics.register_new();
        let limit = self.cfg.exporter_queue_limit(self.p.rings.len());
        for sink in &mut self.sinks {
            sink.set_queue_limit(limit);
        }
        self.drain();
        if force || now >= self.next_export {
            self.next_export = now + self.cfg.export_interval;
            self.dispatch();
        }
        // Every sink's demand is taken (cleared) each cycle, so a scheduled snapshot also
        // answers a pending demand.
        let demanded: Vec<bool> = self
            .sinks
            .iter_mut()
            .map(Sink::take_metrics_demand)
            .collect();
        if force || now >= self.next_metrics {
            self.next_metrics = now + self.cfg.metrics_interval;
            self.export_metrics(None);
        } else if demanded.contains(&true) {
            // A scrape asked: a snapshot for the sinks that asked, now; the others keep
            // their interval.
            self.export_metrics(Some(&demanded));
        }
        self.p.metrics.retire_exited();
        self.p.rings.retain(|r| !r.is_finished());
        for sink in &mut self.sinks {
            sink.wake();
        }
        // What this thread holds is on record before it parks (or waits).
        self.gen.settle();
    }

    /// Takes what every ring holds now (at most its length at the start, so a thread that
    /// keeps logging cannot hold the exporter thread in one ring), one chunk per lock of the
    /// ring. A signal's pending batch is handed over as soon as it has `max_batch` records
    /// (after the ring's lock is released), moved, never copied.
    fn drain(&mut self) {
        let max = self.cfg.max_batch.max(1);
        // A superseded thread hands nothing over, so it chooses no exemplars either.
        let exemplars = self.gen.is_current();
        for i in 0..self.p.rings.len() {
            let ring = self.p.rings[i].clone();
            let mut left = ring.len();
            while left > 0 {
                let fullest = self.pending_spans.len().max(self.pending_logs.len());
                let room = max.saturating_sub(fullest).max(1).min(left);
                let (gen, clock) = (&mut self.gen, &self.clock);
                let (spans, logs) = (&mut self.pending_spans, &mut self.pending_logs);
                let (sinks, metrics) = (&self.sinks, &mut self.p.metrics);
                let taken = ring.pop_up_to(room, &mut self.scratch, |record| {
                    gen.drained(record.signal(), 1);
                    match record {
                        Drained::Span(s) => {
                            let counted = exemplars.then(|| Counted::of(&s)).flatten();
                            let span = convert::span(s, clock);
                            if let Some(counted) = counted {
                                if sinks.iter().any(|sink| sink.exports_span(&span)) {
                                    metrics.exemplar(counted, &span);
                                }
                            }
                            spans.push(span);
                        }
                        Drained::Log(l) => logs.push(convert::log(l, clock)),
                    }
                });
                left -= taken.min(left);
                if self.pending_spans.len() >= max {
                    // Logs drained so far go first (see `dispatch`).
                    self.offer_logs();
                    self.offer_spans();
                } else if self.pending_logs.len() >= max {
                    self.offer_logs();
                }
                if taken < room {
                    break; // the ring is empty
                }
            }
        }
    }

    /// Offers what is pending to every sink: logs first, then spans, so a sink that groups a
    /// trace's records (pretty stdout) has a span's logs before the span itself (a span ends
    /// after the logs made inside it), whatever the batch boundaries.
    fn dispatch(&mut self) {
        self.offer_logs();
        self.offer_spans();
    }

    fn offer_logs(&mut self) {
        if self.pending_logs.is_empty() {
            return;
        }
        let cap = self.cfg.max_batch.clamp(1, 4096);
        let logs = std::mem::replace(&mut self.pending_logs, Vec::with_capacity(cap));
        self.offer(Vec::new(), logs);
    }

    fn offer_spans(&mut self) {
        if self.pending_spans.is_empty() {
            return;
        }
        let cap = self.cfg.max_batch.clamp(1, 4096);
        let spans = std::mem::replace(&mut self.pending_spans, Vec::with_capacity(cap));
        self.offer(spans, Vec::new());
    }

    /// One batch to every sink: shared when the sink's filter takes all of it, a filtered copy
    /// when it takes part, nothing (counted `filtered`) when it takes none.
    fn offer(&mut self, spans: Vec<SpanData>, logs: Vec<LogData>) {
        let counts = [spans.len() as u64, logs.len() as u64];
        if !self.gen.handed(counts) {
            return; // superseded: counted for every exporter at the takeover
        }
        let resource = Arc::clone(&self.resource);
        let shared = Arc::new(Batch {
            spans,
            logs,
            metrics: None,
            resource: Some(Arc::clone(&resource)),
        });
        for sink in &mut self.sinks {
            let f = *sink.filter();
            if f.is_all() {
                sink.offer(Arc::clone(&shared), counts);
                continue;
            }
            let span_ok = shared.spans.iter().filter(|s| f.takes_span(s)).count() as u64;
            let log_ok = shared.logs.iter().filter(|l| f.takes_log(l)).count() as u64;
            sink.filtered([counts[0] - span_ok, counts[1] - log_ok]);
            if [span_ok, log_ok] == counts {
                sink.offer(Arc::clone(&shared), counts);
            } else if span_ok + log_ok > 0 {
                let part = Batch {
                    spans: shared
                        .spans
                        .iter()
                        .filter(|s| f.takes_span(s))
                        .cloned()
                        .collect(),
                    logs: shared
                        .logs
                        .iter()
                        .filter(|l| f.takes_log(l))
                        .cloned()
                        .collect(),
                    metrics: None,
                    resource: Some(Arc::clone(&resource)),
                };
                sink.offer(Arc::new(part), [span_ok, log_ok]);
            }
        }
    }

    /// A metrics snapshot to every sink that takes metrics (`only`: just those whose entry is
    /// `true`).
    fn export_metrics(&mut self, only: Option<&[bool]>) {
        if !self.gen.is_current() {
            return; // superseded: the newer pipeline exports the (process-wide) metrics
        }
        let stats = self.stats(false);
        let mut metrics = self.p.metrics.call_metrics();
        metrics.extend(self_metrics::metrics(&stats));
        let batch = Arc::new(Batch {
            metrics: Some(MetricsSnapshot {
                start_unix_nanos: self.p.start_unix_nanos,
                time_unix_nanos: self.clock.now_unix_nanos(),
                metrics,
            }),
            resource: Some(Arc::clone(&self.resource)),
            ..Batch::default()
        });
        for (i, sink) in self.sinks.iter_mut().enumerate() {
            let wanted = only.is_none_or(|only| only.get(i).copied().unwrap_or(false));
            if wanted && sink.filter().takes(crate::export::SignalKind::Metrics) {
                sink.offer_metrics(Arc::clone(&batch));
            }
        }
    }

    /// Offers everything buffered now to every sink, then has every sink deliver and flush,
    /// waiting until `deadline`.
    fn flush(&mut self, deadline: Instant) -> FlushReport {
        let started = Instant::now();
        let before = self.stats(true);
        self.drain_everything();
        let tickets: Vec<u64> = self.sinks.iter_mut().map(Sink::request_flush).collect();
        let completed = self
            .sinks
            .iter()
            .zip(tickets)
            .fold(true, |ok, (sink, t)| sink.wait_flushed(t, deadline) && ok);
        let after = self.publish(true);
        let mut report = FlushReport::between(&before, &after, started.elapsed());
        report.completed = completed;
        report
    }

    /// Drains the rings and dispatches, a bounded number of rounds (threads that keep logging
    /// cannot hold the flush forever), then a metrics snapshot.
    fn drain_everything(&mut self) {
        self.gen.rings(&mut self.p.rings);
        let buffered: usize = self.p.rings.iter().map(RingHandle::len).sum();
        let rounds = 2 + buffered / self.cfg.max_batch.max(1);
        for _ in 0..rounds {
            self.cycle(Instant::now(), true);
            if self.p.rings.iter().all(|r| r.len() == 0) {
                break;
            }
        }
    }

    /// Delivers what the current sinks have (until `deadline`), shuts them down and starts
    /// the new ones. An old sink that does not finish in time is abandoned: what it still had
    /// counts dropped `timeout`.
    fn swap(&mut self, new: Vec<SinkSpec>, deadline: Instant) -> Result<(), ExportError> {
        let mut started = Vec::new();
        for (exporter, filter) in new {
            match Sink::start(
                exporter,
                filter,
                self.cfg.exporter_queue_limit(self.p.rings.len()),
                self.cfg.stuck_after,
            ) {
                Ok(s) => started.push(s),
                Err(e) => {
                    return Err(ExportError::permanent(format!(
                        "cannot start the new exporter's worker thread: {e}"
                    )))
                }
            }
        }
        self.flush(deadline);
        let old = std::mem::replace(&mut self.sinks, started);
        // One snapshot ends the old sinks' share of the drops before a ring and starts the
        // new ones'.
        let snapshot = super::sink::before_ring_now();
        for sink in &mut self.sinks {
            sink.rebase(&snapshot);
        }
        let result = self.retire(old, deadline, &snapshot);
        let mut account = lock(&self.account);
        if !account.superseded {
            account.sinks = self.sinks.iter().map(Sink::ledger).collect();
            account.retired = self.retired.clone();
        }
        drop(account);
        self.publish(true);
        result
    }

    /// Shuts sinks down until `deadline` and keeps their final figures.
    fn retire(
        &mut self,
        mut old: Vec<Sink>,
        deadline: Instant,
        before_ring: &[[u64; crate::stats::REASONS]; 2],
    ) -> Result<(), ExportError> {
        for sink in &mut old {
            sink.request_shutdown();
        }
        let mut result = Ok(());
        for sink in &mut old {
            if !sink.wait_finished(deadline) {
                sink.abandon();
            }
            if let Err(e) = sink.shutdown_result() {
                if result.is_ok() {
                    result = Err(e);
                }
            }
            let stats = sink.stats([0, 0], false, true, before_ring);
            merge_retired(&mut self.retired, stats);
        }
        result
    }

    /// Delivers everything, shuts every sink down, and abandons (counting `timeout`) those
    /// that do not finish by `deadline`: in flight is 0 for every exporter afterwards.
    fn shutdown(mut self, deadline: Instant) -> FlushReport {
        let started = Instant::now();
        let before = self.stats(true);
        self.drain_everything();
        for sink in &mut self.sinks {
            sink.request_shutdown();
        }
        let mut completed = true;
        for sink in &mut self.sinks {
            if !sink.wait_finished(deadline) && sink.abandon() {
                completed = false;
            }
        }
        let at = super::sink::before_ring_now();
        let after = self.publish_at(&at);
        self.close(&after, at);
        *lock(&PARKED) = Some(std::mem::take(&mut self.p));
        let mut report = FlushReport::between(&before, &after, started.elapsed());
        report.completed = completed;
        report
    }

    /// Puts this pipeline's final figures on its account for the next pipeline (unless a
    /// newer one already took over and counted them).
    fn close(&mut self, last: &Stats, at: [[u64; REASONS]; 2]) {
        let mut account = lock(&self.account);
        if account.superseded {
            return;
        }
        account.sinks.clear();
        account.retired.clear();
        for e in &last.exporters {
            merge_retired(&mut account.retired, e.clone());
        }
        account.retired_at = Some(at);
        account.closed = true;
    }

    /// Publishes exact figures with drops before a ring counted up to `before_ring`.
    fn publish_at(&mut self, before_ring: &[[u64; REASONS]; 2]) -> Stats {
        let stats = self.stats_at(true, before_ring);
        *lock(&self.shared.stats) = stats.clone();
        stats
    }

    fn publish(&mut self, exact: bool) -> Stats {
        let stats = self.stats(exact);
        *lock(&self.shared.stats) = stats.clone();
        stats
    }

    /// Exact accounting at this instant, per sink (on the exporter thread, nothing moves but
    /// the rings, which are read once, and the sinks, each read under its lock).
    fn stats(&mut self, exact: bool) -> Stats {
        self.stats_at(exact, &super::sink::before_ring_now())
    }

    fn stats_at(&mut self, exact: bool, before_ring: &[[u64; REASONS]; 2]) -> Stats {
        let in_rings = self.records_in_rings();
        let not_offered = [
            in_rings[0] + self.pending_spans.len() as u64,
            in_rings[1] + self.pending_logs.len() as u64,
        ];
        let mut exporters: Vec<ExporterStats> = self
            .sinks
            .iter_mut()
            .map(|s| s.stats(not_offered, true, exact, before_ring))
            .collect();
        exporters.extend(self.retired.iter().cloned());
        Stats::from_exporters(exporters)
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
