//! One exporter's delivery ("sink"): its own bounded queue, its own worker thread, retries with
//! backoff, circuit breaker and accounting.
//!
//! The exporter thread drains the rings once, converts once, and offers each batch to every
//! sink. [`Sink::offer`] takes no lock: it pushes onto the sink's lock-free inbox and unparks
//! the worker, so even a worker preempted while it holds its sink's lock cannot stall the
//! drain. Each sink's worker thread (`instrument-sink-<name>`) calls its exporter, so an
//! exporter that is slow, failing, hung or panicking can only hold up its own queue:
//!
//! - a retry goes only to the exporter that failed (the batch stays at the head of that
//!   exporter's queue), and its circuit breaker silences only that exporter;
//! - a hung exporter holds at most its queue bound (`Builder::exporter_queue`; by default
//!   [`DEFAULT_EXPORTER_QUEUE`](crate::config::DEFAULT_EXPORTER_QUEUE) records or what all
//!   rings hold, whichever is more) plus the batch
//!   it is stuck on; records offered beyond that are dropped for it with reason
//!   `exporter_queue_full`, and at shutdown whatever it still has is dropped with reason
//!   `timeout` and its worker is abandoned (never joined);
//! - a panic in `export`, `flush`, `poll`, `shutdown`, `held` or `Drop` is caught on the worker
//!   and counted (the batch: `exporter_panic`);
//! - a call into the exporter that has run longer than `Builder::stuck_exporter_after`
//!   (default 20 s) marks the exporter stuck: the exporter thread then drops what it offers
//!   to it at once (`export_failed`) instead of queueing, shows it in
//!   `ExporterStats::stuck` and the `instrument.exporter.stuck` gauge, and warns once; when
//!   the call returns, the sink takes records again.
//!
//! Accounting, per signal: the exporter thread counts what it offered and what it dropped
//! itself (filtered, queue full); the worker counts, under the sink's lock, what it settled
//! (exported, dropped by reason). A record offered and not settled is in flight (in the inbox,
//! the worker's queue, the export call, or held by the exporter, see [`Exporter::held`]), so
//! `offered = exported + dropped + in flight` exactly, from any consistent read of the
//! worker's counters (the exporter thread never waits for the lock between flushes: if it is
//! taken, the previous read is used, which only moves records from settled to in flight).

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_queue::SegQueue;

use super::breaker::{Breaker, Verdict};
use crate::buffer::record::Signal;
use crate::export::{
    Batch, ExportError, ExportErrorKind, Exporter, Held, MetricsDemand, SinkFilter, POLL_INTERVAL,
};
use crate::stats::{self, DropReason, ExporterStats, SignalStats, REASONS};

/// A batch waiting for a sink, with its record counts `[spans, logs]`.
struct Item {
    batch: Arc<Batch>,
    counts: [u64; 2],
}

impl Item {
    fn is_metrics(&self) -> bool {
        self.counts == [0, 0]
    }
}

/// What the worker settled, and the requests it answers; under the sink's lock.
#[derive(Default)]
struct State {
    exported: [u64; 2],
    dropped: [[u64; REASONS]; 2],
    panics: u64,
    flush_requested: u64,
    flush_done: u64,
    shutdown_requested: bool,
    /// The worker ran the exporter's shutdown and exited.
    finished: bool,
    /// A deadline passed: what the sink had was counted dropped, and whatever the worker does
    /// later is ignored.
    abandoned: bool,
    /// The result of the exporter's `shutdown` (for `set_exporter`'s answer).
    shutdown_result: Option<Result<(), ExportError>>,
    /// Drops before a ring when this sink joined: its figures start from there.
    base_before_ring: [[u64; REASONS]; 2],
}

/// Settled figures as last read by the exporter thread.
#[derive(Clone, Copy, Default)]
struct Settled {
    exported: [u64; 2],
    dropped: [[u64; REASONS]; 2],
    panics: u64,
}

pub(crate) struct Shared {
    name: &'static str,
    inbox: SegQueue<Item>,
    /// Records offered (accepted, filtered or refused), per signal; written by the exporter
    /// thread only (atomics so that a pipeline superseding this one can read them).
    offered: [AtomicU64; 2],
    /// Drops decided on the exporter thread: filtered, queue full (same writer as `offered`).
    dropped_here: [[AtomicU64; REASONS]; 2],
    /// Records offered and accepted, not settled yet (inbox, queue, export call, held): what
    /// the queue bound applies to.
    unsettled: AtomicU64,
    /// The exporter asked for a metrics snapshot now (see [`Exporter::metrics_demand`]); taken
    /// by the exporter thread at its next cycle.
    metrics_wanted: AtomicBool,
    /// When the worker's current call into the exporter started (nanoseconds since
    /// [`epoch`], plus one), or 0 between calls. Written by the worker, read by the exporter
    /// thread to detect a stuck exporter.
    busy_since: AtomicU64,
    /// The exporter thread judged the exporter stuck (it alone writes this).
    stuck: AtomicBool,
    state: Mutex<State>,
    /// Signalled by the worker when a flush is done or it finished.
    cv: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock; recover from a poison anyway.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn offered(&self) -> [u64; 2] {
        // Relaxed: single writer; a reader on another thread is ordered by the pipeline's
        // account lock (see `collector::thread`), or reads its own writes.
        std::array::from_fn(|i| self.offered[i].load(Ordering::Relaxed))
    }

    fn dropped_here(&self) -> [[u64; REASONS]; 2] {
        std::array::from_fn(|i| {
            std::array::from_fn(|r| self.dropped_here[i][r].load(Ordering::Relaxed))
        })
    }

    fn add_offered(&self, n: [u64; 2]) {
        for (offered, n) in self.offered.iter().zip(n) {
            offered.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn add_dropped_here(&self, reason: DropReason, n: [u64; 2]) {
        for (dropped, n) in self.dropped_here.iter().zip(n) {
            dropped[reason as usize].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A deadline passed, or a newer pipeline took over, before the worker finished:
    /// everything this sink still has (inbox, queue, the export call it is stuck in, held)
    /// plus `extra` (records drained for it and never offered) is counted dropped for
    /// `reason`, and the worker's later results are ignored. `false` if it had finished or
    /// was abandoned already (then only `extra` is counted).
    fn abandon(&self, reason: DropReason, extra: [u64; 2]) -> bool {
        let mut st = self.lock();
        self.add_offered(extra);
        if st.finished || st.abandoned {
            self.add_dropped_here(reason, extra);
            return false;
        }
        st.abandoned = true;
        let offered = self.offered();
        let here = self.dropped_here();
        for i in 0..2 {
            let settled: u64 =
                st.exported[i] + st.dropped[i].iter().sum::<u64>() + here[i].iter().sum::<u64>();
            st.dropped[i][reason as usize] += offered[i].saturating_sub(settled);
        }
        st.shutdown_result = Some(Err(ExportError::timeout(format!(
            "exporter {:?} did not finish before the deadline",
            self.name
        ))));
        drop(st);
        while self.inbox.pop().is_some() {}
        self.cv.notify_all();
        true
    }

    /// This sink's figures from its settled counts; see [`Sink::stats`].
    fn figures(
        &self,
        settled: &Settled,
        base_before_ring: &[[u64; REASONS]; 2],
        not_offered: [u64; 2],
        active: bool,
        before_ring: &[[u64; REASONS]; 2],
    ) -> ExporterStats {
        let offered = self.offered();
        let here = self.dropped_here();
        let signal = |i: usize| {
            let mut dropped = [0; REASONS];
            let mut pre_total = 0;
            for (r, d) in dropped.iter_mut().enumerate() {
                let pre = before_ring[i][r].saturating_sub(base_before_ring[i][r]);
                *d = settled.dropped[i][r] + here[i][r] + pre;
                pre_total += pre;
            }
            let done = settled.exported[i] + dropped.iter().sum::<u64>() - pre_total;
            let unsettled = offered[i].saturating_sub(done);
            SignalStats {
                emitted: offered[i] + not_offered[i] + pre_total,
                exported: settled.exported[i],
                dropped,
                in_flight: not_offered[i] + unsettled,
            }
        };
        ExporterStats {
            name: self.name,
            spans: signal(0),
            logs: signal(1),
            panics: settled.panics,
            active,
            stuck: active && self.stuck.load(Ordering::Relaxed),
        }
    }
}

/// A pipeline's hold on one of its sinks that a newer pipeline can use to take over from it
/// (the superseded pipeline's exporter thread may be stuck, or merely late).
#[derive(Clone)]
pub(crate) struct Ledger(Arc<Shared>);

impl Ledger {
    /// Supersedes the sink: its worker exports nothing more, and what it holds, plus `held`
    /// (records drained for it and never offered), is counted dropped
    /// ([`DropReason::ShutdownTimeout`]). Returns its final figures (drops before a ring
    /// counted up to `before_ring`).
    pub(crate) fn supersede(
        &self,
        held: [u64; 2],
        before_ring: &[[u64; REASONS]; 2],
    ) -> ExporterStats {
        self.0.abandon(DropReason::ShutdownTimeout, held);
        let st = self.0.lock();
        let settled = Settled {
            exported: st.exported,
            dropped: st.dropped,
            panics: st.panics,
        };
        let base = st.base_before_ring;
        drop(st);
        self.0.figures(&settled, &base, [0, 0], false, before_ring)
    }
}

/// The instant [`Shared::busy_since`] counts from.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds from [`epoch`] to `at`.
fn since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX)
}

/// The exporter thread's handle on one sink (owned by the exporter thread).
pub(crate) struct Sink {
    filter: SinkFilter,
    /// The filter takes spans and the exporter exports them ([`Exporter::exports_spans`]).
    exports_spans: bool,
    queue_limit: u64,
    /// How long one exporter call may run before the exporter counts as stuck.
    stuck_after: Duration,
    shared: Arc<Shared>,
    worker: Thread,
    cached: Settled,
    /// Drops before a ring when this sink joined: its figures start from there.
    base_before_ring: [[u64; REASONS]; 2],
    /// Something was pushed since the last [`Sink::wake`].
    to_wake: bool,
}

impl Sink {
    /// Starts the sink's worker thread; the exporter moves there.
    pub(crate) fn start(
        exporter: Box<dyn Exporter>,
        filter: SinkFilter,
        queue_limit: usize,
        stuck_after: Duration,
    ) -> std::io::Result<Sink> {
        let name = catch_unwind(AssertUnwindSafe(|| exporter.name())).unwrap_or("custom");
        // A panic: not known to export spans, so its spans make no exemplars.
        let exports_spans = filter.takes(crate::export::SignalKind::Traces)
            && catch_unwind(AssertUnwindSafe(|| exporter.exports_spans())).unwrap_or(false);
        let base_before_ring = before_ring_now();
        let shared = Arc::new(Shared {
            name,
            inbox: SegQueue::new(),
            offered: [const { AtomicU64::new(0) }; 2],
            dropped_here: [
                [const { AtomicU64::new(0) }; REASONS],
                [const { AtomicU64::new(0) }; REASONS],
            ],
            unsettled: AtomicU64::new(0),
            metrics_wanted: AtomicBool::new(false),
            busy_since: AtomicU64::new(0),
            stuck: AtomicBool::new(false),
            state: Mutex::new(State {
                base_before_ring,
                ..State::default()
            }),
            cv: Condvar::new(),
        });
        let worker = Worker {
            name,
            demand: filter.takes(crate::export::SignalKind::Metrics),
            shared: Arc::clone(&shared),
            exporter: Some(exporter),
            queue: VecDeque::new(),
            held: [0, 0],
            breaker: Breaker::default(),
            retry_at: None,
            last_poll: Instant::now(),
        };
        // Detached: a hung exporter is abandoned at a deadline, never joined.
        let handle = std::thread::Builder::new()
            .name(format!("instrument-sink-{name}"))
            .spawn(move || worker.run())?;
        Ok(Sink {
            filter,
            exports_spans,
            queue_limit: queue_limit.max(1) as u64,
            stuck_after,
            shared,
            worker: handle.thread().clone(),
            cached: Settled::default(),
            base_before_ring,
            to_wake: false,
        })
    }

    /// Unparks the worker if something was handed over since the last call: once per
    /// exporter-thread cycle, not once per batch (fewer context switches under load).
    pub(crate) fn wake(&mut self) {
        if std::mem::take(&mut self.to_wake) {
            self.worker.unpark();
        }
    }

    /// From now on this sink counts the drops before a ring after `snapshot` (a swap: the
    /// replaced sinks' figures end at the same snapshot, so no drop is counted twice or lost).
    pub(crate) fn rebase(&mut self, snapshot: &[[u64; REASONS]; 2]) {
        self.base_before_ring = *snapshot;
        self.shared.lock().base_before_ring = *snapshot;
    }

    /// The handle a newer pipeline uses to supersede this sink.
    pub(crate) fn ledger(&self) -> Ledger {
        Ledger(Arc::clone(&self.shared))
    }

    /// The queue bound (the default grows with the number of rings).
    pub(crate) fn set_queue_limit(&mut self, limit: usize) {
        self.queue_limit = limit.max(1) as u64;
    }

    pub(crate) fn filter(&self) -> &SinkFilter {
        &self.filter
    }

    /// `true` while the worker's current exporter call has run longer than `stuck_after`.
    /// Updates the stuck flag and warns on each change (only the exporter thread calls it).
    pub(crate) fn check_stuck(&mut self) -> bool {
        // Relaxed: a timestamp, read for a judgement that one cycle later corrects itself.
        let since = self.shared.busy_since.load(Ordering::Relaxed);
        let busy_for = (since != 0)
            .then(|| Duration::from_nanos(since_epoch(Instant::now()).saturating_sub(since - 1)));
        let stuck = busy_for.is_some_and(|d| d >= self.stuck_after);
        if stuck != self.shared.stuck.swap(stuck, Ordering::Relaxed) {
            let name = self.shared.name;
            crate::diag::warn(if stuck {
                format!(
                    "exporter `{name}` is stuck: one call has run for {:?} (more than {:?}); \
                     records for it are dropped (export_failed) until it returns",
                    busy_for.unwrap_or_default(),
                    self.stuck_after
                )
            } else {
                format!("exporter `{name}` is no longer stuck; it takes records again")
            });
        }
        stuck
    }

    /// `true` if this sink takes `span` and its exporter exports spans (so the span may be an
    /// exemplar, see [`crate::data::Exemplar`]).
    pub(crate) fn exports_span(&self, span: &crate::data::SpanData) -> bool {
        self.exports_spans && self.filter.takes_span(span)
    }

    /// Hands a batch of records (`counts` = `[spans, logs]`) to this sink, or counts it
    /// dropped: `exporter_queue_full` when the sink is at its bound, `export_failed` while its
    /// exporter is stuck (see [`Sink::check_stuck`]). Takes no lock.
    pub(crate) fn offer(&mut self, batch: Arc<Batch>, counts: [u64; 2]) {
        self.shared.add_offered(counts);
        if self.check_stuck() {
            self.shared
                .add_dropped_here(DropReason::ExportFailed, counts);
            return;
        }
        let n = counts[0] + counts[1];
        // Relaxed: a bound, not a synchronisation; the worker's decrements arrive eventually.
        let unsettled = self.shared.unsettled.load(Ordering::Relaxed);
        if unsettled > 0 && unsettled + n > self.queue_limit {
            self.shared
                .add_dropped_here(DropReason::ExporterQueueFull, counts);
            return;
        }
        self.shared.unsettled.fetch_add(n, Ordering::Relaxed);
        self.shared.inbox.push(Item { batch, counts });
        self.to_wake = true;
    }

    /// `true` (once) if the exporter asked for a metrics snapshot since the last call.
    pub(crate) fn take_metrics_demand(&mut self) -> bool {
        // Relaxed is enough: the flag carries no data, and the snapshot is taken after it.
        self.shared.metrics_wanted.load(Ordering::Relaxed)
            && self.shared.metrics_wanted.swap(false, Ordering::Relaxed)
    }

    /// Counts records this sink's filter refused.
    pub(crate) fn filtered(&mut self, counts: [u64; 2]) {
        self.shared.add_offered(counts);
        self.shared.add_dropped_here(DropReason::Filtered, counts);
    }

    /// Hands a metrics snapshot over (the worker keeps only the newest one queued: snapshots
    /// are cumulative).
    pub(crate) fn offer_metrics(&mut self, batch: Arc<Batch>) {
        self.shared.inbox.push(Item {
            batch,
            counts: [0, 0],
        });
        self.to_wake = true;
    }

    /// Asks the worker to flush once its queue is empty; returns the ticket to wait for.
    pub(crate) fn request_flush(&mut self) -> u64 {
        self.to_wake = false;
        let mut st = self.shared.lock();
        st.flush_requested += 1;
        let ticket = st.flush_requested;
        drop(st);
        self.worker.unpark();
        ticket
    }

    /// Waits until the flush `ticket` is done (or the sink is finished), up to `deadline`.
    pub(crate) fn wait_flushed(&self, ticket: u64, deadline: Instant) -> bool {
        self.wait(deadline, |st| {
            st.flush_done >= ticket || st.finished || st.abandoned
        })
    }

    /// Asks the worker to deliver its queue, flush, shut the exporter down and exit.
    pub(crate) fn request_shutdown(&mut self) {
        self.to_wake = false;
        self.shared.lock().shutdown_requested = true;
        self.worker.unpark();
    }

    /// Waits until the worker finished its shutdown, up to `deadline`.
    pub(crate) fn wait_finished(&self, deadline: Instant) -> bool {
        self.wait(deadline, |st| st.finished || st.abandoned)
    }

    fn wait(&self, deadline: Instant, done: impl Fn(&State) -> bool) -> bool {
        let mut st = self.shared.lock();
        loop {
            if done(&st) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            // Bounded waits: a missed notification costs at most 10 ms.
            let wait = (deadline - now).min(Duration::from_millis(10));
            st = self
                .shared
                .cv
                .wait_timeout(st, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// A deadline passed before the worker finished: everything this sink still has (inbox,
    /// queue, the export call it is stuck in, held) is counted dropped with reason `timeout`,
    /// and the worker's later results are ignored. `false` if it had finished after all.
    pub(crate) fn abandon(&mut self) -> bool {
        self.shared.abandon(DropReason::Timeout, [0, 0])
    }

    /// The result of the exporter's shutdown, once finished or abandoned.
    pub(crate) fn shutdown_result(&self) -> Result<(), ExportError> {
        self.shared.lock().shutdown_result.clone().unwrap_or(Ok(()))
    }

    /// This sink's figures; `not_offered` = records drained or still in rings that this sink
    /// will be offered (`[spans, logs]`). `exact`: wait for the worker's lock (flush,
    /// shutdown); otherwise a busy lock means the previous read is used.
    /// `before_ring`: the drops before a ring now (one snapshot for every sink read together,
    /// see [`before_ring_now`]).
    pub(crate) fn stats(
        &mut self,
        not_offered: [u64; 2],
        active: bool,
        exact: bool,
        before_ring: &[[u64; REASONS]; 2],
    ) -> ExporterStats {
        self.check_stuck();
        let read = if exact {
            Some(self.shared.lock())
        } else {
            self.shared.state.try_lock().ok()
        };
        if let Some(st) = read {
            self.cached = Settled {
                exported: st.exported,
                dropped: st.dropped,
                panics: st.panics,
            };
        }
        self.shared.figures(
            &self.cached,
            &self.base_before_ring,
            not_offered,
            active,
            before_ring,
        )
    }
}

/// What the worker does next.
enum Action {
    Export(Item),
    Flush(u64),
    Poll,
    Shutdown,
    Exit,
}

/// The worker thread of one sink: owns the exporter, its queue, retries and breaker.
struct Worker {
    name: &'static str,
    /// Give the exporter a [`MetricsDemand`] when it starts (its filter takes metrics).
    demand: bool,
    shared: Arc<Shared>,
    exporter: Option<Box<dyn Exporter>>,
    queue: VecDeque<Item>,
    /// Records the exporter reported holding after its last call.
    held: [u64; 2],
    breaker: Breaker,
    /// The head of the queue failed; try it again at this time.
    retry_at: Option<Instant>,
    last_poll: Instant,
}

/// How a call into the exporter ended.
enum Outcome {
    Done(Result<(), ExportError>),
    Panicked,
}

impl Worker {
    fn run(mut self) {
        crate::local::mark_exporter_thread();
        if self.demand {
            self.give_demand();
        }
        loop {
            match self.next_action() {
                Action::Export(item) => self.export(item),
                Action::Flush(ticket) => {
                    let _ = self.call_releasing(|e| e.flush(), "flush");
                    let mut st = self.shared.lock();
                    st.flush_done = st.flush_done.max(ticket);
                    drop(st);
                    self.shared.cv.notify_all();
                }
                Action::Poll => {
                    self.last_poll = Instant::now();
                    let _ = self.call_releasing(|e| e.poll(), "poll");
                }
                Action::Shutdown => {
                    let _ = self.call_releasing(|e| e.flush(), "flush");
                    let result = self.call_releasing(|e| e.shutdown(), "shutdown");
                    self.drop_exporter();
                    let mut st = self.shared.lock();
                    if !st.abandoned {
                        // Whatever the exporter still holds after its shutdown is lost.
                        let held = std::mem::take(&mut self.held);
                        add(&mut st, DropReason::ExportFailed, held);
                        st.shutdown_result = Some(result);
                        st.finished = true;
                    }
                    st.flush_done = st.flush_requested;
                    drop(st);
                    self.shared.cv.notify_all();
                    return;
                }
                Action::Exit => {
                    self.drop_exporter();
                    return;
                }
            }
        }
    }

    /// Hands the exporter its way to ask for a metrics snapshot now: the request sets this
    /// sink's flag and wakes the exporter thread (non-blocking; a no-op once the sink is gone
    /// or no pipeline runs).
    fn give_demand(&mut self) {
        let shared: Weak<Shared> = Arc::downgrade(&self.shared);
        let request: MetricsDemand = Arc::new(move || {
            if let Some(shared) = shared.upgrade() {
                shared.metrics_wanted.store(true, Ordering::Relaxed);
                crate::buffer::registry::wake_exporter();
            }
        });
        let (outcome, _) = self.call(|e| {
            e.metrics_demand(request);
            Ok(())
        });
        if let Outcome::Panicked = outcome {
            self.shared.lock().panics += 1;
            warn_failure(self.name, "panicked in metrics_demand");
        }
    }

    /// Moves what the exporter thread handed over into the queue (a newer metrics snapshot
    /// replaces a queued one).
    fn take_inbox(&mut self) {
        while let Some(item) = self.shared.inbox.pop() {
            if item.is_metrics() {
                self.queue.retain(|i| !i.is_metrics());
            }
            self.queue.push_back(item);
        }
    }

    fn next_action(&mut self) -> Action {
        loop {
            self.take_inbox();
            let (abandoned, flush, shutdown) = {
                let st = self.shared.lock();
                (
                    st.abandoned,
                    (st.flush_requested > st.flush_done).then_some(st.flush_requested),
                    st.shutdown_requested,
                )
            };
            if abandoned {
                return Action::Exit;
            }
            let now = Instant::now();
            if !self.queue.is_empty() {
                let due = self.retry_at.is_none_or(|at| at <= now || shutdown);
                if due {
                    if self.breaker.is_open(now) {
                        self.drop_open();
                        continue;
                    }
                    self.retry_at = None;
                    let item = self.queue.pop_front().expect("queue is not empty");
                    return Action::Export(item);
                }
            } else if let Some(ticket) = flush {
                return Action::Flush(ticket);
            } else if shutdown {
                return Action::Shutdown;
            }
            let next_poll = self.last_poll + POLL_INTERVAL;
            if self.queue.is_empty() && now >= next_poll {
                return Action::Poll;
            }
            let wake = match self.retry_at {
                Some(at) if !self.queue.is_empty() => at.min(next_poll),
                _ => next_poll,
            };
            if self.shared.inbox.is_empty() {
                std::thread::park_timeout(
                    wake.saturating_duration_since(now)
                        .max(Duration::from_millis(1)),
                );
            }
        }
    }

    /// Circuit open: every queued record batch is dropped (`circuit_open`) without an attempt.
    fn drop_open(&mut self) {
        let mut n = [0u64; 2];
        for item in self.queue.drain(..) {
            n[0] += item.counts[0];
            n[1] += item.counts[1];
        }
        self.retry_at = None;
        let mut st = self.shared.lock();
        if !st.abandoned {
            add(&mut st, DropReason::CircuitOpen, n);
        }
        drop(st);
        self.settle(n);
    }

    /// Records left the sink (exported or dropped): the queue bound has room again.
    fn settle(&self, n: [u64; 2]) {
        self.shared
            .unsettled
            .fetch_sub(n[0] + n[1], Ordering::Relaxed);
    }

    /// Calls the exporter, catching a panic; returns the outcome and what it holds now.
    fn call(
        &mut self,
        f: impl FnOnce(&mut dyn Exporter) -> Result<(), ExportError>,
    ) -> (Outcome, [u64; 2]) {
        let Some(exporter) = self.exporter.as_deref_mut() else {
            return (Outcome::Done(Ok(())), [0, 0]);
        };
        let busy = &self.shared.busy_since;
        busy.store(
            since_epoch(Instant::now()).saturating_add(1),
            Ordering::Relaxed,
        );
        let outcome = match catch_unwind(AssertUnwindSafe(|| f(&mut *exporter))) {
            Ok(r) => Outcome::Done(r),
            Err(_) => Outcome::Panicked,
        };
        let held = catch_unwind(AssertUnwindSafe(|| exporter.held()));
        busy.store(0, Ordering::Relaxed);
        match held {
            Ok(Held { spans, logs }) => (outcome, [spans, logs]),
            Err(_) => {
                self.shared.lock().panics += 1;
                (outcome, [0, 0])
            }
        }
    }

    /// One export attempt of the head batch, judged by the breaker.
    fn export(&mut self, item: Item) {
        let held_before = self.held;
        let (outcome, held_after) = self.call(|e| e.export(&item.batch));
        let n = item.counts;
        // What left the batch and the held set in this call, per signal; and what is held now.
        let after: [u64; 2] = std::array::from_fn(|i| held_after[i].min(held_before[i] + n[i]));
        let settled: [u64; 2] = std::array::from_fn(|i| n[i] + held_before[i] - after[i]);
        let now = Instant::now();
        let mut st = self.shared.lock();
        if st.abandoned {
            return;
        }
        let result = match outcome {
            Outcome::Done(r) => r,
            Outcome::Panicked => {
                st.panics += 1;
                self.held = after;
                add(&mut st, DropReason::ExporterPanic, settled);
                drop(st);
                self.settle(settled);
                warn_failure(
                    self.name,
                    &format!("panicked exporting {} records", n[0] + n[1]),
                );
                return;
            }
        };
        if item.is_metrics() {
            // Snapshots are cumulative: a failed one is superseded by the next; it does not
            // feed the breaker (the record batches judge the receiver).
            self.held = after;
            match &result {
                Ok(()) => add_exported(&mut st, settled),
                Err(_) => add(&mut st, DropReason::ExportFailed, settled),
            }
            drop(st);
            self.settle(settled);
            if let Err(e) = &result {
                warn_failure(self.name, &format!("metrics export failed: {e}"));
            }
            return;
        }
        let mut done = settled;
        match self.breaker.on_result(&result, now) {
            Verdict::Exported => {
                self.held = after;
                add_exported(&mut st, settled);
            }
            Verdict::Partial(rejected) => {
                self.held = after;
                let mut rejected_left = rejected;
                for i in 0..2 {
                    let r = rejected_left.min(n[i]).min(settled[i]);
                    rejected_left -= r;
                    st.dropped[i][DropReason::Rejected as usize] += r;
                    st.exported[i] += settled[i] - r;
                }
            }
            Verdict::RetryAt(at) => {
                // The batch stays first in the queue; what left the held set is lost.
                let after: [u64; 2] = std::array::from_fn(|i| after[i].min(held_before[i]));
                let lost: [u64; 2] = std::array::from_fn(|i| held_before[i] - after[i]);
                self.held = after;
                add(&mut st, DropReason::ExportFailed, lost);
                done = lost;
                self.queue.push_front(item);
                self.retry_at = Some(at);
            }
            Verdict::Drop => {
                self.held = after;
                add(&mut st, DropReason::ExportFailed, settled);
            }
        }
        drop(st);
        self.settle(done);
        if let Err(e) = &result {
            if !matches!(e.kind, ExportErrorKind::Rejected { .. }) {
                warn_failure(self.name, &e.to_string());
            }
        }
    }

    /// Calls `flush`, `poll` or `shutdown`: records they release from the held set count as
    /// exported if the call succeeded, else as dropped.
    fn call_releasing(
        &mut self,
        f: impl FnOnce(&mut dyn Exporter) -> Result<(), ExportError>,
        what: &str,
    ) -> Result<(), ExportError> {
        let held_before = self.held;
        let (outcome, held_after) = self.call(f);
        let after: [u64; 2] = std::array::from_fn(|i| held_after[i].min(held_before[i]));
        let released: [u64; 2] = std::array::from_fn(|i| held_before[i] - after[i]);
        self.held = after;
        let mut st = self.shared.lock();
        if st.abandoned {
            return Err(ExportError::timeout("abandoned"));
        }
        let result = match outcome {
            Outcome::Done(Ok(())) => {
                add_exported(&mut st, released);
                Ok(())
            }
            Outcome::Done(Err(e)) => {
                add(&mut st, DropReason::ExportFailed, released);
                Err(e)
            }
            Outcome::Panicked => {
                st.panics += 1;
                add(&mut st, DropReason::ExporterPanic, released);
                Err(ExportError::permanent(format!(
                    "the exporter panicked in {what}"
                )))
            }
        };
        drop(st);
        self.settle(released);
        if let Err(e) = &result {
            warn_failure(self.name, &format!("{what} failed: {e}"));
        }
        result
    }

    /// Drops the exporter, catching a panic in its `Drop`.
    fn drop_exporter(&mut self) {
        if let Some(exporter) = self.exporter.take() {
            if catch_unwind(AssertUnwindSafe(move || drop(exporter))).is_err() {
                self.shared.lock().panics += 1;
                warn_failure(self.name, "panicked in Drop");
            }
        }
    }
}

/// Drops before a ring so far, `[spans, logs]` by reason.
pub(crate) fn before_ring_now() -> [[u64; REASONS]; 2] {
    [
        stats::dropped_before_ring(Signal::Span),
        stats::dropped_before_ring(Signal::Log),
    ]
}

fn add(st: &mut State, reason: DropReason, n: [u64; 2]) {
    for (i, &count) in n.iter().enumerate() {
        st.dropped[i][reason as usize] += count;
    }
}

fn add_exported(st: &mut State, n: [u64; 2]) {
    for (i, &count) in n.iter().enumerate() {
        st.exported[i] += count;
    }
}

fn warn_failure(name: &str, what: &str) {
    crate::diag::warn(format!("exporter {name:?}: {what}"));
}
