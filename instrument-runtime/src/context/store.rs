//! What the span handle records for a span it reaches only through its context (an
//! `#[instrument]` span, a manual span or a `tracing` span, current on this thread): kept here,
//! keyed by span id, until that span ends and folds it into its record.
//!
//! Only sampled spans are ever written here. A span that ends checks one relaxed counter and
//! touches a lock only while some span has pending records. The store is bounded: past
//! [`MAX_PENDING`] spans, the oldest entry (a span that never ended, or whose context outlived
//! it) is evicted and a warning is printed once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::buffer::record::SpanExtras;
use crate::clock::Instant;
use crate::diag;

/// Spans with pending records, at most (across all shards).
pub(crate) const MAX_PENDING: usize = 4096;
const SHARDS: usize = 16;
const PER_SHARD: usize = MAX_PENDING / SHARDS;

type Entry = (u64, Instant, Box<SpanExtras>);

/// Entries in all shards. Incremented and decremented under the shard's lock, read without it:
/// an entry's increment happens before the end of its span, so that span's load sees it.
static PENDING: AtomicUsize = AtomicUsize::new(0);
static STORE: [Mutex<Vec<Entry>>; SHARDS] = [const { Mutex::new(Vec::new()) }; SHARDS];

fn shard(span_id: u64) -> MutexGuard<'static, Vec<Entry>> {
    // Span ids are random: their low bits spread spans evenly.
    STORE[(span_id as usize) % SHARDS]
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` on the pending extras of span `span_id` (made if absent).
pub(crate) fn with(span_id: u64, f: impl FnOnce(&mut SpanExtras)) {
    let mut entries = shard(span_id);
    if let Some(entry) = entries.iter_mut().find(|e| e.0 == span_id) {
        return f(&mut entry.2);
    }
    if entries.len() >= PER_SHARD {
        let oldest = (0..entries.len()).min_by_key(|&i| entries[i].1);
        if let Some(i) = oldest {
            entries.swap_remove(i);
            PENDING.fetch_sub(1, Ordering::Relaxed);
            diag::warn(
                "span handle: too many spans with pending records (a span context outlived its \
                 span?); the oldest entry was evicted",
            );
        }
    }
    let mut extras = Box::<SpanExtras>::default();
    f(&mut extras);
    entries.push((span_id, Instant::now(), extras));
    PENDING.fetch_add(1, Ordering::Relaxed);
}

/// Takes the pending extras of span `span_id`, if any (called once, when it ends sampled).
#[inline]
pub(crate) fn take(span_id: u64) -> Option<Box<SpanExtras>> {
    if PENDING.load(Ordering::Relaxed) == 0 {
        return None;
    }
    take_slow(span_id)
}

#[cold]
fn take_slow(span_id: u64) -> Option<Box<SpanExtras>> {
    let mut entries = shard(span_id);
    let i = entries.iter().position(|e| e.0 == span_id)?;
    let (_, _, extras) = entries.swap_remove(i);
    PENDING.fetch_sub(1, Ordering::Relaxed);
    Some(extras)
}

/// `own` with the pending extras of `span_id` folded in (what an ending span records).
#[inline]
pub(crate) fn merge_into(span_id: u64, own: Option<Box<SpanExtras>>) -> Option<Box<SpanExtras>> {
    match (own, take(span_id)) {
        (own, None) => own,
        (None, Some(later)) => Some(later),
        (Some(mut own), Some(later)) => {
            own.merge(*later);
            Some(own)
        }
    }
}
