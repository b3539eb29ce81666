//! One exporter's delivery ("sink"): its own bounded queue, its own worker thread, retries with
//! backoff, circuit breaker and accounting.
//!
//! The exporter thread drains the rings once, converts once, and offers each batch to every
//! sink ([`Sink::offer`] only locks the sink's queue and never waits on the exporter). Each
//! sink's worker thread (`instrument-sink-<name>`) calls its exporter, so an exporter that is
//! slow, failing, hung or panicking can only hold up its own queue:
//!
//! - a retry goes only to the exporter that failed (the batch stays at the head of that
//!   exporter's queue), and its circuit breaker silences only that exporter;
//! - a hung exporter holds at most its queue bound (`Builder::exporter_queue`, default
//!   [`DEFAULT_EXPORTER_QUEUE`](crate::config::DEFAULT_EXPORTER_QUEUE) records) plus the batch
//!   it is stuck on; records offered beyond that are dropped for it with reason
//!   `exporter_queue_full`, and at shutdown whatever it still has is dropped with reason
//!   `timeout` and its worker is abandoned (never joined);
//! - a panic in `export`, `flush`, `poll`, `shutdown`, `held` or `Drop` is caught on the worker
//!   and counted (the batch: `exporter_panic`).
//!
//! Accounting, per signal, kept under the sink's lock: every record offered is in exactly one
//! of queued, busy (in the export call right now), held (the exporter said it keeps it, see
//! [`Exporter::held`]), exported, or dropped by reason. Hence, exactly,
//! `offered = exported + dropped + queued + busy + held`.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::breaker::{Breaker, Verdict};
use crate::buffer::record::Signal;
use crate::export::{Batch, ExportError, ExportErrorKind, Exporter, Filter, Held, POLL_INTERVAL};
use crate::stats::{self, DropReason, ExporterStats, SignalStats, REASONS};

/// A batch waiting in a sink's queue, with its record counts `[spans, logs]`.
struct Item {
    batch: Arc<Batch>,
    counts: [u64; 2],
}

impl Item {
    fn is_metrics(&self) -> bool {
        self.counts == [0, 0]
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<Item>,
    queued: [u64; 2],
    busy: [u64; 2],
    held: [u64; 2],
    offered: [u64; 2],
    exported: [u64; 2],
    dropped: [[u64; REASONS]; 2],
    panics: u64,
    breaker: Breaker,
    /// The head of the queue failed; try it again at this time.
    retry_at: Option<Instant>,
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
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock; recover from a poison anyway.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The exporter thread's handle on one sink.
pub(crate) struct Sink {
    name: &'static str,
    filter: Filter,
    queue_limit: u64,
    shared: Arc<Shared>,
    /// Drops before a ring when this sink joined: its figures start from there.
    base_before_ring: [[u64; REASONS]; 2],
}

impl Sink {
    /// Starts the sink's worker thread; the exporter moves there.
    pub(crate) fn start(
        exporter: Box<dyn Exporter>,
        filter: Filter,
        queue_limit: usize,
    ) -> std::io::Result<Sink> {
        let name = catch_unwind(AssertUnwindSafe(|| exporter.name())).unwrap_or("custom");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
        });
        let worker = Worker {
            name,
            shared: Arc::clone(&shared),
            exporter: Some(exporter),
            last_poll: Instant::now(),
        };
        // Detached: a hung exporter is abandoned at a deadline, never joined.
        std::thread::Builder::new()
            .name(format!("instrument-sink-{name}"))
            .spawn(move || worker.run())?;
        Ok(Sink {
            name,
            filter,
            queue_limit: queue_limit.max(1) as u64,
            shared,
            base_before_ring: [
                stats::dropped_before_ring(Signal::Span),
                stats::dropped_before_ring(Signal::Log),
            ],
        })
    }

    pub(crate) fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Queues a batch of records (`counts` = `[spans, logs]`) for this sink, or counts it
    /// dropped (`exporter_queue_full`) when the queue is at its bound.
    pub(crate) fn offer(&self, batch: Arc<Batch>, counts: [u64; 2]) {
        let mut st = self.shared.lock();
        for i in 0..2 {
            st.offered[i] += counts[i];
        }
        if st.abandoned || st.finished {
            for i in 0..2 {
                st.dropped[i][DropReason::Timeout as usize] += counts[i];
            }
            return;
        }
        let waiting = st.queued[0] + st.queued[1] + st.busy[0] + st.busy[1];
        if waiting > 0 && waiting + counts[0] + counts[1] > self.queue_limit {
            for i in 0..2 {
                st.dropped[i][DropReason::ExporterQueueFull as usize] += counts[i];
            }
            return;
        }
        for i in 0..2 {
            st.queued[i] += counts[i];
        }
        st.queue.push_back(Item { batch, counts });
        drop(st);
        self.shared.cv.notify_all();
    }

    /// Counts records this sink's filter refused.
    pub(crate) fn filtered(&self, counts: [u64; 2]) {
        if counts == [0, 0] {
            return;
        }
        let mut st = self.shared.lock();
        for i in 0..2 {
            st.offered[i] += counts[i];
            st.dropped[i][DropReason::Filtered as usize] += counts[i];
        }
    }

    /// Queues a metrics snapshot; an older one still queued is superseded (snapshots are
    /// cumulative).
    pub(crate) fn offer_metrics(&self, batch: Arc<Batch>) {
        let mut st = self.shared.lock();
        if st.abandoned || st.finished {
            return;
        }
        st.queue.retain(|item| !item.is_metrics());
        st.queue.push_back(Item {
            batch,
            counts: [0, 0],
        });
        drop(st);
        self.shared.cv.notify_all();
    }

    /// Asks the worker to flush once its queue is empty; returns the ticket to wait for.
    pub(crate) fn request_flush(&self) -> u64 {
        let mut st = self.shared.lock();
        st.flush_requested += 1;
        let ticket = st.flush_requested;
        drop(st);
        self.shared.cv.notify_all();
        ticket
    }

    /// Waits until the flush `ticket` is done (or the sink is finished), up to `deadline`.
    pub(crate) fn wait_flushed(&self, ticket: u64, deadline: Instant) -> bool {
        self.wait(deadline, |st| {
            st.flush_done >= ticket || st.finished || st.abandoned
        })
    }

    /// Asks the worker to deliver its queue, flush, shut the exporter down and exit.
    pub(crate) fn request_shutdown(&self) {
        self.shared.lock().shutdown_requested = true;
        self.shared.cv.notify_all();
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
            st = self
                .shared
                .cv
                .wait_timeout(st, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// A deadline passed before the worker finished: everything this sink still has (queued,
    /// in the export call it is stuck in, held) is counted dropped with reason `timeout`, and
    /// the worker's later results are ignored. `false` if it had finished after all.
    pub(crate) fn abandon(&self) -> bool {
        let mut st = self.shared.lock();
        if st.finished || st.abandoned {
            return false;
        }
        st.abandoned = true;
        for i in 0..2 {
            let n = st.queued[i] + st.busy[i] + st.held[i];
            st.dropped[i][DropReason::Timeout as usize] += n;
            st.queued[i] = 0;
            st.busy[i] = 0;
            st.held[i] = 0;
        }
        st.queue.clear();
        st.shutdown_result = Some(Err(ExportError::timeout(format!(
            "exporter {:?} did not finish before the deadline",
            self.name
        ))));
        drop(st);
        self.shared.cv.notify_all();
        true
    }

    /// The result of the exporter's shutdown, once finished or abandoned.
    pub(crate) fn shutdown_result(&self) -> Result<(), ExportError> {
        self.shared.lock().shutdown_result.clone().unwrap_or(Ok(()))
    }

    /// This sink's figures; `not_offered` = records drained or still in rings that this sink
    /// will be offered (`[spans, logs]`).
    pub(crate) fn stats(&self, not_offered: [u64; 2], active: bool) -> ExporterStats {
        let before_ring = [
            stats::dropped_before_ring(Signal::Span),
            stats::dropped_before_ring(Signal::Log),
        ];
        let st = self.shared.lock();
        let signal = |i: usize| {
            let mut dropped = st.dropped[i];
            let mut pre_total = 0;
            for r in 0..REASONS {
                let pre = before_ring[i][r].saturating_sub(self.base_before_ring[i][r]);
                dropped[r] += pre;
                pre_total += pre;
            }
            SignalStats {
                emitted: st.offered[i] + not_offered[i] + pre_total,
                exported: st.exported[i],
                dropped,
                in_flight: not_offered[i] + st.queued[i] + st.busy[i] + st.held[i],
            }
        };
        ExporterStats {
            name: self.name,
            spans: signal(0),
            logs: signal(1),
            panics: st.panics,
            active,
        }
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

/// The worker thread of one sink: owns the exporter.
struct Worker {
    name: &'static str,
    shared: Arc<Shared>,
    exporter: Option<Box<dyn Exporter>>,
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
                        for i in 0..2 {
                            let n = std::mem::take(&mut st.held[i]);
                            st.dropped[i][DropReason::ExportFailed as usize] += n;
                        }
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

    fn next_action(&mut self) -> Action {
        let mut st = self.shared.lock();
        loop {
            if st.abandoned {
                return Action::Exit;
            }
            let now = Instant::now();
            if !st.queue.is_empty() {
                let due = st
                    .retry_at
                    .is_none_or(|at| at <= now || st.shutdown_requested);
                if due {
                    if st.breaker.is_open(now) {
                        drop_open(&mut st);
                        continue;
                    }
                    st.retry_at = None;
                    let item = st.queue.pop_front().expect("queue is not empty");
                    for i in 0..2 {
                        st.queued[i] -= item.counts[i];
                        st.busy[i] = item.counts[i];
                    }
                    return Action::Export(item);
                }
            } else if st.flush_requested > st.flush_done {
                return Action::Flush(st.flush_requested);
            } else if st.shutdown_requested {
                return Action::Shutdown;
            }
            let next_poll = self.last_poll + POLL_INTERVAL;
            if st.queue.is_empty() && now >= next_poll {
                return Action::Poll;
            }
            let wake = match st.retry_at {
                Some(at) if !st.queue.is_empty() => at.min(next_poll),
                _ => next_poll,
            };
            let wait = wake
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            st = self
                .shared
                .cv
                .wait_timeout(st, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Calls the exporter, catching a panic.
    fn call(
        &mut self,
        f: impl FnOnce(&mut dyn Exporter) -> Result<(), ExportError>,
    ) -> (Outcome, [u64; 2]) {
        let Some(exporter) = self.exporter.as_deref_mut() else {
            return (Outcome::Done(Ok(())), [0, 0]);
        };
        let outcome = match catch_unwind(AssertUnwindSafe(|| f(&mut *exporter))) {
            Ok(r) => Outcome::Done(r),
            Err(_) => Outcome::Panicked,
        };
        let held = catch_unwind(AssertUnwindSafe(|| exporter.held()));
        let (held, panicked) = match held {
            Ok(Held { spans, logs }) => ([spans, logs], false),
            Err(_) => ([0, 0], true),
        };
        if panicked {
            self.shared.lock().panics += 1;
        }
        (outcome, held)
    }

    /// One export attempt of the head batch, judged by the breaker.
    fn export(&mut self, item: Item) {
        let held_before = self.shared.lock().held;
        let (outcome, held_after) = self.call(|e| e.export(&item.batch));
        let mut st = self.shared.lock();
        if st.abandoned {
            return;
        }
        st.busy = [0, 0];
        let n = item.counts;
        // What left the batch and the held set in this call, per signal; and what is held now.
        let after: [u64; 2] = std::array::from_fn(|i| held_after[i].min(held_before[i] + n[i]));
        let settled: [u64; 2] = std::array::from_fn(|i| n[i] + held_before[i] - after[i]);
        let now = Instant::now();
        let result = match outcome {
            Outcome::Done(r) => r,
            Outcome::Panicked => {
                st.panics += 1;
                st.held = after;
                add(&mut st, DropReason::ExporterPanic, settled);
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
            st.held = after;
            match &result {
                Ok(()) => add_exported(&mut st, settled),
                Err(e) => {
                    add(&mut st, DropReason::ExportFailed, settled);
                    warn_failure(self.name, &format!("metrics export failed: {e}"));
                }
            }
            return;
        }
        match st.breaker.on_result(&result, now) {
            Verdict::Exported => {
                st.held = after;
                add_exported(&mut st, settled);
            }
            Verdict::Partial(rejected) => {
                st.held = after;
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
                st.held = after;
                add(&mut st, DropReason::ExportFailed, lost);
                for i in 0..2 {
                    st.queued[i] += n[i];
                }
                st.queue.push_front(item);
                st.retry_at = Some(at);
            }
            Verdict::Drop => {
                st.held = after;
                add(&mut st, DropReason::ExportFailed, settled);
            }
        }
        drop(st);
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
        let held_before = self.shared.lock().held;
        let (outcome, held_after) = self.call(f);
        let mut st = self.shared.lock();
        if st.abandoned {
            return Err(ExportError::timeout("abandoned"));
        }
        let after: [u64; 2] = std::array::from_fn(|i| held_after[i].min(held_before[i]));
        let released: [u64; 2] = std::array::from_fn(|i| held_before[i] - after[i]);
        st.held = after;
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
                Err(ExportError::permanent(format!("the exporter panicked in {what}")))
            }
        };
        drop(st);
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

/// Circuit open: every queued record batch is dropped (`circuit_open`) without an attempt.
fn drop_open(st: &mut State) {
    let items: Vec<Item> = st.queue.drain(..).collect();
    for item in items {
        for i in 0..2 {
            st.queued[i] -= item.counts[i];
            st.dropped[i][DropReason::CircuitOpen as usize] += item.counts[i];
        }
    }
    st.retry_at = None;
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
