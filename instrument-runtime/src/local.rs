//! Everything an application thread owns, in two thread-locals: [`Hot`] (the current span,
//! the id generator, the re-entrancy depth: plain cells with no destructor, so reaching them
//! is one `fs`-relative address, with no registration check and no failure path) and
//! [`Owned`] (the ring and the metric shards, which must be released when the thread exits).
//! A call opens with one access to `Hot` and closes with one to each.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::buffer::inline::{Encoder, Meta as InlineMeta};
use crate::buffer::record::{Priority, Record};
use crate::buffer::ring::Ring;
use crate::callsite::Callsite;
use crate::context::id::IdGen;
use crate::context::span_context::SpanContext;
use crate::metrics::fallback;
use crate::metrics::histogram::{CallsiteCells, NEW_CELLS};
use crate::stats::{self, DropReason};
use crate::switches;

/// How deep record-making may nest on one thread (a log inside a `Debug` impl inside a log...)
/// before further records are dropped and counted as re-entrant.
const MAX_DEPTH: u8 = 4;

/// The per-call state: no destructor (so `try_with` cannot fail and compiles to an address).
pub(crate) struct Hot {
    current: Cell<SpanContext>,
    ids: IdGen,
    /// Set on the exporter thread: records made there are not fed back into the pipeline.
    is_exporter: Cell<bool>,
    depth: Cell<u8>,
}

/// What the thread owns and releases at exit.
pub(crate) struct Owned {
    ring: RefCell<Option<Ring>>,
    cells: RefCell<Vec<Option<Arc<CallsiteCells>>>>,
}

thread_local! {
    static HOT: Hot = const {
        Hot {
            current: Cell::new(SpanContext::NONE),
            ids: IdGen::new(),
            is_exporter: Cell::new(false),
            depth: Cell::new(0),
        }
    };
    static OWNED: Owned = const {
        Owned {
            ring: RefCell::new(None),
            cells: RefCell::new(Vec::new()),
        }
    };
}

/// The current span context of this thread (`NONE` if none, or if the thread is exiting),
/// with its ids drawn if they were not yet (see [`SpanContext::child_of`]).
#[inline]
pub(crate) fn current() -> SpanContext {
    HOT.try_with(Hot::current_drawn)
        .unwrap_or(SpanContext::NONE)
}

/// Makes `ctx` current and returns the previous context.
#[inline]
pub(crate) fn replace_current(ctx: SpanContext) -> SpanContext {
    HOT.try_with(|l| l.current.replace(ctx))
        .unwrap_or(SpanContext::NONE)
}

/// Marks this thread as the exporter thread.
pub(crate) fn mark_exporter_thread() {
    let _ = HOT.try_with(|l| l.is_exporter.set(true));
}

/// `true` on the exporter thread.
pub(crate) fn is_exporter_thread() -> bool {
    HOT.try_with(|l| l.is_exporter.get()).unwrap_or(false)
}

/// A span's context, made by [`open`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opened {
    /// The new span.
    pub(crate) ctx: SpanContext,
    /// Its parent (`NONE` for a root).
    pub(crate) parent: SpanContext,
    /// What was current before (restored when an entered span closes).
    pub(crate) previous: SpanContext,
}

/// Opens a span in one thread-local access: reads the current context, draws the new ids from
/// this thread's generator, and (if `enter`) makes the new span current. `parent` overrides the
/// current context as the parent (`Some(NONE)`: a new trace).
#[inline]
pub(crate) fn open(parent: Option<SpanContext>, enter: bool) -> Opened {
    let opened = HOT.try_with(|l| {
        let previous = l.current_drawn();
        let parent = parent.unwrap_or(previous);
        // Only an entered (sync) span may leave its ids undrawn: it stays current until it
        // closes, so whoever needs its ids finds it here.
        let ctx = SpanContext::child_of(parent, &l.ids, enter);
        if enter {
            l.current.set(ctx);
        }
        Opened {
            ctx,
            parent,
            previous,
        }
    });
    opened.unwrap_or_else(|_| open_without_local(parent))
}

/// During thread teardown (the thread-local is gone): a context from a throwaway generator,
/// never current anywhere.
#[cold]
fn open_without_local(parent: Option<SpanContext>) -> Opened {
    let parent = parent.unwrap_or(SpanContext::NONE);
    Opened {
        ctx: SpanContext::child_of(parent, &IdGen::new(), false),
        parent,
        previous: SpanContext::NONE,
    }
}

/// Makes `previous` current again (a sync span closing; `HOT` has no destructor, so this is
/// one store to a thread-local address).
#[inline]
pub(crate) fn restore_current(previous: &SpanContext) {
    let _ = HOT.try_with(|l| l.current.set(*previous));
}

/// Closes a span in one thread-local access: records the call's latency in this thread's
/// shard, and pushes the span's record if `record` makes one (sampled spans). A sync span has
/// made its parent current again before ([`restore_current`]).
#[inline]
pub(crate) fn close(
    callsite: &'static Callsite,
    series: usize,
    nanos: u64,
    record: impl FnOnce() -> Option<(Record, Priority)>,
) {
    let index = callsite.index();
    let mut record = Some(record);
    let done = OWNED.try_with(|l| {
        // No user code runs while this borrow is held, so it cannot be re-entered.
        if let Ok(mut cells) = l.cells.try_borrow_mut() {
            let shard = match cells.get(index) {
                Some(Some(shard)) => shard,
                _ => new_shard(&mut cells, callsite, index),
            };
            shard.record(series, nanos);
        } else {
            fallback::record(callsite, series, nanos);
        }
        if let Some((rec, priority)) = record.take().and_then(|make| make()) {
            let signal = rec.signal();
            if let Err(reason) = push_owned(l, rec, priority) {
                stats::count_drop(signal, reason, 1);
            }
        }
    });
    if done.is_err() {
        // The thread-local is gone (a call ending in another thread-local's destructor): the
        // sample goes to the shared fallback shard, so the metrics stay exact.
        fallback::record(callsite, series, nanos);
        if let Some((rec, _)) = record.take().and_then(|make| make()) {
            stats::count_drop(rec.signal(), DropReason::ThreadExit, 1);
        }
    }
}

/// In a forked child: forget this thread's ring and shards (they belong to the parent's
/// pipeline, whose exporter thread does not exist here), its current span, and reseed ids.
pub(crate) fn forget_after_fork() {
    let _ = OWNED.try_with(|l| {
        if let Ok(mut ring) = l.ring.try_borrow_mut() {
            // Leak rather than drop: the ring's memory is shared with a consumer copy that
            // nobody in this process will ever free or read.
            std::mem::forget(ring.take());
        }
        if let Ok(mut cells) = l.cells.try_borrow_mut() {
            std::mem::forget(std::mem::take(&mut *cells));
        }
    });
    let _ = HOT.try_with(|l| {
        l.current.set(SpanContext::NONE);
        l.ids.reseed();
    });
    while let Some(shard) = NEW_CELLS.pop() {
        std::mem::forget(shard);
    }
    fallback::reset_after_fork();
}

#[cold]
fn new_shard<'a>(
    cells: &'a mut Vec<Option<Arc<CallsiteCells>>>,
    callsite: &'static Callsite,
    index: usize,
) -> &'a Arc<CallsiteCells> {
    switches::restart_if_pending();
    if cells.len() <= index {
        cells.resize(index + 1, None);
    }
    let shard = Arc::new(CallsiteCells::new(callsite, index));
    NEW_CELLS.push(Arc::clone(&shard));
    cells[index].insert(shard)
}

/// Guard for "this thread is making a record": refuses when nested too deep or on the
/// exporter thread. Held only around synchronous formatting, never across `.await`.
pub(crate) struct Making(());

impl Making {
    /// `None` when the record must not be made (exporter thread: not fed back, not counted),
    /// `Some(Err)` when it is refused and counted as re-entrant.
    pub(crate) fn begin() -> Option<Result<Making, DropReason>> {
        HOT.try_with(|l| {
            if l.is_exporter.get() {
                return None;
            }
            let d = l.depth.get();
            if d >= MAX_DEPTH {
                return Some(Err(DropReason::Reentrant));
            }
            l.depth.set(d + 1);
            Some(Ok(Making(())))
        })
        .unwrap_or(Some(Err(DropReason::ThreadExit)))
    }
}

impl Drop for Making {
    fn drop(&mut self) {
        let _ = HOT.try_with(|l| l.depth.set(l.depth.get().saturating_sub(1)));
    }
}

/// Pushes a record into this thread's ring, or counts why it was dropped. Never blocks.
#[inline]
pub(crate) fn push(record: Record, priority: Priority) {
    let signal = record.signal();
    let outcome = OWNED
        .try_with(|l| push_owned(l, record, priority))
        .unwrap_or(Err(DropReason::ThreadExit));
    if let Err(reason) = outcome {
        stats::count_drop(signal, reason, 1);
    }
}

/// Pushes the log record encoded in `encoder` into this thread's ring: inline (head and part
/// slots, no allocation) when it fits, else boxed (see [`crate::buffer::inline`]); or counts
/// why it was dropped. Never blocks.
pub(crate) fn push_log(encoder: &Encoder, meta: InlineMeta, priority: Priority) {
    let outcome = OWNED
        .try_with(|l| {
            if is_exporter_thread() {
                return Ok(()); // the pipeline's own records: not fed back, not counted
            }
            if !switches::is_active() {
                return Err(DropReason::Shutdown);
            }
            let Ok(mut ring) = l.ring.try_borrow_mut() else {
                return Err(DropReason::Reentrant);
            };
            let ring = ring.get_or_insert_with(Ring::register);
            match encoder.parts() {
                Some(parts) if parts < ring.max_chunk() => {
                    ring.push_chunk(parts + 1, priority, |i, slot| {
                        encoder.write_slot(&meta, parts, i, slot);
                    })
                }
                _ => ring.push(encoder.boxed(meta), priority),
            }
        })
        .unwrap_or(Err(DropReason::ThreadExit));
    if let Err(reason) = outcome {
        stats::count_drop(crate::buffer::record::Signal::Log, reason, 1);
    }
}

impl Drop for Owned {
    /// Thread exit: the ring goes back to the pool (see [`Ring::recycle`]).
    fn drop(&mut self) {
        if let Some(ring) = self.ring.get_mut().take() {
            ring.recycle();
        }
    }
}

impl Hot {
    /// The current context, its ids drawn (and kept current) if they were not.
    #[inline]
    fn current_drawn(&self) -> SpanContext {
        let ctx = self.current.get();
        if ctx.is_undrawn() {
            let drawn = ctx.drawn(&self.ids);
            self.current.set(drawn);
            return drawn;
        }
        ctx
    }
}

#[inline]
fn push_owned(owned: &Owned, record: Record, priority: Priority) -> Result<(), DropReason> {
    if is_exporter_thread() {
        return Ok(()); // the pipeline's own records: not fed back, not counted
    }
    if !switches::is_active() {
        return Err(DropReason::Shutdown);
    }
    let Ok(mut ring) = owned.ring.try_borrow_mut() else {
        return Err(DropReason::Reentrant);
    };
    ring.get_or_insert_with(Ring::register)
        .push(record, priority)
}
