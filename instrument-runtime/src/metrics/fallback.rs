//! The shared fallback shard: where a call's latency sample lands when its thread has no
//! thread-local state any more (the call ended inside another thread-local's destructor,
//! after the runtime's own was destroyed). Without it the sample, and the call, would vanish
//! from `function_calls_total` while the span was counted as dropped.
//!
//! Lock-free and exact: an append-only list with one node per callsite that was ever called
//! at teardown, each holding a [`CallsiteCells`] written with atomic read-modify-writes (any
//! thread may write it, unlike a per-thread shard). Nodes are never freed (one per callsite,
//! so the memory is bounded by the number of instrumented functions); the aggregator adds them
//! to every snapshot.

use std::sync::OnceLock;

use super::histogram::CallsiteCells;
use crate::callsite::Callsite;

struct Node {
    cells: CallsiteCells,
    next: OnceLock<&'static Node>,
}

static HEAD: OnceLock<&'static Node> = OnceLock::new();

/// Records one call of `callsite` in its fallback shard (cold: thread teardown only).
#[cold]
pub(crate) fn record(callsite: &'static Callsite, series: usize, nanos: u64) {
    let index = callsite.index();
    let mut slot = &HEAD;
    loop {
        // `get_or_init` runs one initialiser per slot (racers wait for it), so no node is made
        // twice; a node for another callsite sends us on to its successor.
        let node = slot.get_or_init(|| {
            Box::leak(Box::new(Node {
                cells: CallsiteCells::new(callsite, index),
                next: OnceLock::new(),
            }))
        });
        if node.cells.index == index {
            node.cells.record_shared(series, nanos);
            return;
        }
        slot = &node.next;
    }
}

/// Every fallback shard made so far.
pub(crate) fn shards() -> impl Iterator<Item = &'static CallsiteCells> {
    std::iter::successors(HEAD.get().copied(), |n| n.next.get().copied()).map(|n| &n.cells)
}

/// In a forked child: the parent's counts are not the child's (the shards stay, emptied).
pub(crate) fn reset_after_fork() {
    for cells in shards() {
        cells.reset();
    }
}
