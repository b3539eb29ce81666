//! Registration of per-thread rings with the exporter thread, lock-free: a thread pushes the
//! consumer half of its ring onto a `SegQueue` once, and the exporter thread moves it into its
//! own list. The exporter keeps draining a ring after its thread exits (the producer is gone,
//! the records are not), then forgets it.

use std::sync::Arc;
use std::thread::Thread;

use arc_swap::ArcSwapOption;
use crossbeam_queue::SegQueue;

use super::record::Record;

/// The consumer half of one thread's ring.
pub(crate) struct RingHandle {
    pub(crate) consumer: rtrb::Consumer<Record>,
}

impl RingHandle {
    pub(crate) fn new(consumer: rtrb::Consumer<Record>) -> Self {
        RingHandle { consumer }
    }

    /// Records waiting in the ring.
    pub(crate) fn len(&self) -> usize {
        self.consumer.slots()
    }

    /// `true` when the thread has exited and the ring is empty: it can be forgotten.
    pub(crate) fn is_finished(&self) -> bool {
        // `is_abandoned` synchronises with the producer's drop (rtrb >= 0.4), so every record
        // pushed before the thread exited is visible to the `slots` that follows.
        self.consumer.is_abandoned() && self.consumer.is_empty()
    }
}

/// Rings registered since the exporter last looked.
static NEW_RINGS: SegQueue<RingHandle> = SegQueue::new();

/// The running exporter thread, to wake it under pressure. Swapped on install/shutdown;
/// loaded (lock-free) by an application thread only when its ring passes half full.
static EXPORTER: ArcSwapOption<Thread> = ArcSwapOption::const_empty();

pub(crate) fn register(handle: RingHandle) {
    NEW_RINGS.push(handle);
}

/// Moves newly registered rings into the exporter's list.
pub(crate) fn take_new(into: &mut Vec<RingHandle>) {
    while let Some(h) = NEW_RINGS.pop() {
        into.push(h);
    }
}

/// In a forked child: forget rings registered with the parent's (absent) exporter thread.
pub(crate) fn forget_after_fork() {
    while let Some(h) = NEW_RINGS.pop() {
        std::mem::forget(h);
    }
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
