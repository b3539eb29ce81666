//! The rings the exporter drains, and who owns them.
//!
//! **Rings outlive pipelines and threads.** Every ring is listed here (not inside one exporter
//! thread), so a new pipeline drains every live thread's ring, including those registered
//! with an earlier pipeline whose exporter thread is stuck. The consumer half sits behind a
//! mutex that the draining exporter thread takes only while it pops (never across an export
//! call), so a hung exporter cannot hold a ring.
//!
//! **Rings are recycled.** When a thread exits, its producer half goes back to a pool with its
//! consumer still listed here, so whatever records the thread left are still drained (none
//! lost, none counted twice: there is still one consumer), and the next new thread reuses the
//! ring instead of allocating one. A new ring is made only while fewer than
//! `2 x live threads + SPARE_RINGS` exist (see [`take_ring`]), and the exporter releases empty
//! pooled rings beyond that, so with `R` the most threads alive at once that made a record:
//!
//! `rings <= 2 x R + SPARE_RINGS`, `ring memory <= (2 x R + 4) x capacity x 72 bytes`.
//!
//! **Generations.** Each exporter (drain) thread drains under a [`Generation`]. Starting a
//! pipeline begins a new one and supersedes the previous: the superseded thread drains nothing
//! more and hands nothing more to its exporters, and the records it had drained and not yet
//! handed over are returned to the new pipeline, which counts them as dropped with reason
//! [`DropReason::ShutdownTimeout`] for each exporter of the superseded pipeline (together with
//! what those exporters' workers still hold; see `collector::thread`). Whatever the superseded
//! threads do later (a late answer of a hung exporter) changes no count.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::Thread;

use arc_swap::ArcSwapOption;
use crossbeam_queue::SegQueue;

use super::inline;
use super::record::{LogRecordRaw, Record, Signal, SpanRecord};
use crate::stats::{self, DropReason};

/// A record taken from a ring, inline log records reassembled.
pub(crate) enum Drained {
    Span(SpanRecord),
    Log(LogRecordRaw),
}

impl Drained {
    pub(crate) fn signal(&self) -> Signal {
        match self {
            Drained::Span(_) => Signal::Span,
            Drained::Log(_) => Signal::Log,
        }
    }
}

/// The consumer half of one ring, shared by the registry and the exporter thread(s).
#[derive(Clone)]
pub(crate) struct RingHandle(Arc<Mutex<rtrb::Consumer<Record>>>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only this module's code runs under these locks and none of it panics; recover anyway.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RingHandle {
    pub(crate) fn new(consumer: rtrb::Consumer<Record>) -> Self {
        RingHandle(Arc::new(Mutex::new(consumer)))
    }

    /// Takes records, oldest first, while fewer than `n` slots were taken, handing each to
    /// `f` (under the ring's lock, so `f` must not call an exporter); returns how many slots
    /// were taken (an inline log record takes its head and its part slots, always whole: the
    /// producer commits them together). `scratch` is reused to reassemble inline records.
    pub(crate) fn pop_up_to(
        &self,
        n: usize,
        scratch: &mut Vec<u8>,
        mut f: impl FnMut(Drained),
    ) -> usize {
        let mut consumer = lock(&self.0);
        let slots = consumer.slots();
        let Ok(chunk) = consumer.read_chunk(slots) else {
            return 0;
        };
        let mut records = chunk.into_iter();
        while records.iterated() < n {
            let Some(record) = records.next() else {
                break;
            };
            match record {
                Record::Span(s) => f(Drained::Span(s)),
                Record::Log(l) => f(Drained::Log(*l)),
                Record::LogInline(head) => {
                    let parts = usize::from(head.parts);
                    let raw = inline::decode(head, records.by_ref().take(parts), scratch);
                    f(Drained::Log(raw));
                }
                // Never first: parts are taken with their head.
                Record::Part(_) => {}
            }
        }
        records.iterated()
    }

    /// Records waiting in the ring.
    /// `true` if the ring holds at least half its capacity: the producer refills it as fast as
    /// it is drained, and its half-full wake (re-armed only once the producer sees it below
    /// half) will not come again, so the exporter must not park.
    pub(crate) fn is_half_full(&self) -> bool {
        let consumer = lock(&self.0);
        consumer.slots() * 2 >= consumer.buffer().capacity()
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.0).slots()
    }

    /// Adds the records waiting in the ring, per signal, to `n` (without consuming them).
    pub(crate) fn count_signals(&self, n: &mut [u64; 2]) {
        let mut consumer = lock(&self.0);
        let slots = consumer.slots();
        if let Ok(chunk) = consumer.read_chunk(slots) {
            let (a, b) = chunk.as_slices();
            for r in a.iter().chain(b).filter(|r| !r.is_part()) {
                n[r.signal() as usize] += 1;
            }
        }
    }

    /// `true` when the producer is gone for good and the ring is empty: it can be forgotten.
    pub(crate) fn is_finished(&self) -> bool {
        let consumer = lock(&self.0);
        // `is_abandoned` synchronises with the producer's drop (rtrb >= 0.4), so every record
        // pushed before it is visible to the `is_empty` that follows.
        consumer.is_abandoned() && consumer.is_empty()
    }
}

/// Rings registered since an exporter thread last looked (lock-free for application threads).
static NEW_RINGS: SegQueue<RingHandle> = SegQueue::new();

/// Every ring whose producer may still write or that still holds records; locked only by
/// exporter threads, briefly. Behind an `ArcSwapOption` so a forked child can drop a list whose
/// lock a vanished thread of the parent may hold.
static RINGS: ArcSwapOption<Mutex<Vec<RingHandle>>> = ArcSwapOption::const_empty();

/// Producers of exited threads' rings, with their capacity, ready for the next new thread.
static POOL: SegQueue<(rtrb::Producer<Record>, usize)> = SegQueue::new();

/// Lists a new ring's consumer (cold: once per ring ever created).
fn register(handle: RingHandle) {
    NEW_RINGS.push(handle);
}

fn all_rings() -> Arc<Mutex<Vec<RingHandle>>> {
    if let Some(list) = RINGS.load_full() {
        return list;
    }
    let fresh = Arc::new(Mutex::new(Vec::new()));
    let previous = RINGS.compare_and_swap(&None::<Arc<_>>, Some(Arc::clone(&fresh)));
    match &*previous {
        Some(existing) => Arc::clone(existing), // another exporter thread made it first
        None => fresh,
    }
}

/// Rings kept beyond twice the live count (see [`take_ring`]).
pub(crate) const SPARE_RINGS: usize = 4;

/// Threads holding a ring now, and rings in existence (held, pooled, or released and not yet
/// drained). Relaxed: counters compared for a sizing decision, never used to order memory.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);

/// The most rings allowed to exist while `live` threads hold one.
fn ring_limit(live: usize) -> usize {
    2 * live + SPARE_RINGS
}

/// A producer for a thread making its first record (cold: once per thread).
///
/// An empty pooled ring of `capacity` slots is taken first. If every pooled ring still holds
/// an exited thread's records, a new ring is made while fewer than
/// `2 x live threads + SPARE_RINGS` rings exist, else the emptiest pooled ring is taken (the
/// thread then shares its room with records the exporter has not drained yet; the exporter is
/// woken). So at most `2 x R + SPARE_RINGS` rings ever exist, `R` being the most threads alive
/// at once that made a record, whatever the thread-creation rate.
pub(crate) fn take_ring(capacity: usize) -> rtrb::Producer<Record> {
    let live = LIVE.fetch_add(1, Ordering::Relaxed) + 1;
    let mut emptiest: Option<rtrb::Producer<Record>> = None;
    for _ in 0..POOL.len() {
        let Some((producer, cap)) = POOL.pop() else {
            break;
        };
        if cap != capacity {
            // Made under another configuration: released, freed by the exporter once drained.
            drop(producer);
            TOTAL.fetch_sub(1, Ordering::Relaxed);
            continue;
        }
        if producer.slots() == capacity {
            if let Some(other) = emptiest {
                POOL.push((other, capacity));
            }
            return producer;
        }
        match &emptiest {
            Some(e) if e.slots() >= producer.slots() => POOL.push((producer, capacity)),
            _ => {
                if let Some(other) = emptiest.replace(producer) {
                    POOL.push((other, capacity));
                }
            }
        }
    }
    if let Some(producer) = emptiest {
        // One atomic step, so threads starting together cannot all pass the check.
        let grown = TOTAL.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |total| {
            (total < ring_limit(live)).then_some(total + 1)
        });
        if grown.is_err() {
            wake_exporter();
            return producer;
        }
        POOL.push((producer, capacity));
    } else {
        // The pool is empty: every ring is held by a live thread, so one more stays in bounds.
        TOTAL.fetch_add(1, Ordering::Relaxed);
    }
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    register(RingHandle::new(consumer));
    producer
}

/// Puts an exited thread's producer back in the pool (its consumer stays listed, so the
/// records it holds are still drained: none lost, none counted twice).
pub(crate) fn recycle(producer: rtrb::Producer<Record>, capacity: usize) {
    LIVE.fetch_sub(1, Ordering::Relaxed);
    POOL.push((producer, capacity));
}

/// On the exporter thread: releases empty pooled rings while more than the limit exist (after
/// a burst of threads has gone), so memory follows the live threads back down.
fn trim_pool() {
    for _ in 0..POOL.len() {
        if TOTAL.load(Ordering::Relaxed) <= ring_limit(LIVE.load(Ordering::Relaxed)) {
            return;
        }
        let Some((producer, cap)) = POOL.pop() else {
            return;
        };
        if producer.slots() == cap {
            drop(producer); // abandoned and empty: forgotten and freed below
            TOTAL.fetch_sub(1, Ordering::Relaxed);
        } else {
            POOL.push((producer, cap));
        }
    }
}

/// The exporter thread's account of the records it drained: held until exported or dropped.
#[derive(Default)]
struct Account {
    held: [u64; 2],
    superseded: bool,
}

/// One exporter thread's right to drain the rings and its account of what it holds. See the
/// module docs. Records it takes are tallied locally (no lock per record) and put on the
/// shared account by [`Generation::settle`], which the exporter thread calls before every
/// exporter call (one that may hang) and every statistics snapshot.
pub(crate) struct Generation {
    account: Arc<Mutex<Account>>,
    unsettled: [u64; 2],
}

/// The generation of the running (or last) exporter thread.
static CURRENT: ArcSwapOption<Mutex<Account>> = ArcSwapOption::const_empty();

impl Generation {
    /// Begins a new generation and supersedes the previous one; returns what the previous one
    /// still held, `[spans, logs]` (drained, not yet handed to its exporters; zero after a
    /// clean shutdown), for the caller to count as dropped ([`DropReason::ShutdownTimeout`])
    /// for each of the superseded pipeline's exporters.
    pub(crate) fn begin() -> (Generation, [u64; 2]) {
        let next = Arc::new(Mutex::new(Account::default()));
        let mut held = [0; 2];
        if let Some(previous) = CURRENT.swap(Some(Arc::clone(&next))) {
            let mut account = lock(&previous);
            account.superseded = true;
            held = std::mem::take(&mut account.held);
        }
        let generation = Generation {
            account: next,
            unsettled: [0; 2],
        };
        (generation, held)
    }

    /// Puts the records taken since the last call on the shared account.
    pub(crate) fn settle(&mut self) {
        let n = std::mem::take(&mut self.unsettled);
        if n == [0; 2] {
            return;
        }
        let mut account = lock(&self.account);
        for signal in [Signal::Span, Signal::Log] {
            let n = n[signal as usize];
            if account.superseded {
                // Taken by a thread that has lost the rings: dropped, counted at once.
                stats::count_drop(signal, DropReason::ShutdownTimeout, n);
            } else {
                account.held[signal as usize] += n;
            }
        }
    }

    /// `false` once a newer pipeline has taken over.
    pub(crate) fn is_current(&mut self) -> bool {
        self.settle();
        !lock(&self.account).superseded
    }

    /// Makes `into` the list of every ring to drain (empty once superseded), forgetting the
    /// rings that are finished.
    pub(crate) fn rings(&mut self, into: &mut Vec<RingHandle>) {
        into.clear();
        if !self.is_current() {
            return;
        }
        trim_pool();
        let list = all_rings();
        let mut rings = lock(&list);
        while let Some(new) = NEW_RINGS.pop() {
            rings.push(new);
        }
        rings.retain(|r| !r.is_finished());
        into.extend(rings.iter().cloned());
    }

    /// `n` records of `signal` were taken from a ring; they are held until exported or
    /// dropped (tallied here, put on the account by [`Generation::settle`]).
    #[inline]
    pub(crate) fn drained(&mut self, signal: Signal, n: u64) {
        self.unsettled[signal as usize] += n;
    }

    /// Held records were handed to the exporters (`[spans, logs]`), whose own accounting
    /// takes over; `false` (nothing handed) once superseded: they were counted as dropped
    /// when the newer pipeline took over.
    pub(crate) fn handed(&mut self, n: [u64; 2]) -> bool {
        self.settle();
        let mut account = lock(&self.account);
        if account.superseded {
            return false;
        }
        for (held, n) in account.held.iter_mut().zip(n) {
            *held -= n.min(*held);
        }
        true
    }
}

/// The running exporter thread, to wake it under pressure. Swapped on install/shutdown;
/// loaded (lock-free) by an application thread only when its ring passes half full.
static EXPORTER: ArcSwapOption<Thread> = ArcSwapOption::const_empty();

/// In a forked child: the rings, the pool and the generation belong to the parent's exporter
/// thread, which does not exist here; forget them (leaked: their memory is shared with
/// copies nobody in this process will free) and start the totals from zero.
pub(crate) fn forget_after_fork() {
    std::mem::forget(RINGS.swap(None));
    while let Some(ring) = NEW_RINGS.pop() {
        std::mem::forget(ring);
    }
    while let Some(pooled) = POOL.pop() {
        std::mem::forget(pooled);
    }
    LIVE.store(0, Ordering::Relaxed);
    TOTAL.store(0, Ordering::Relaxed);
    std::mem::forget(CURRENT.swap(None));
    EXPORTER.store(None);
}

pub(crate) fn set_exporter_thread(thread: Option<Thread>) {
    EXPORTER.store(thread.map(Arc::new));
}

/// Unparks the exporter thread (a futex wake: only called on the rare half-full crossing).
pub(crate) fn wake_exporter() {
    if let Some(t) = EXPORTER.load().as_ref() {
        t.unpark();
    }
}
