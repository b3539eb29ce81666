//! Per-thread latency histograms: the metric half of every call.
//!
//! Each thread owns its cells and is their only writer, so recording a sample is a handful of
//! relaxed loads and stores to cache lines no other thread writes (no `lock`-prefixed
//! instruction, no sharing). The exporter thread reads them with relaxed loads and sums the
//! shards of every thread; counts are exact because every sample lands in exactly one shard
//! and shards outlive their thread until folded into the retired totals.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_queue::SegQueue;

pub(crate) use super::buckets::{bucket_of, Padded, BUCKETS};
#[cfg(test)]
use super::buckets::{Buckets, MAX_BUCKET_BOUNDS};
use super::exponential::{self, ExpoCell, ExpoTotals};
use crate::callsite::Callsite;

/// Metric shards created since the exporter thread last looked (pushed by the thread that
/// creates a shard, drained by the aggregator).
pub(crate) static NEW_CELLS: SegQueue<Arc<CallsiteCells>> = SegQueue::new();

/// One series' histogram on one thread. Single writer: the owning thread. Aligned to 128 bytes
/// (two cache lines, the adjacent-line prefetch pair) so no other thread's cell can share its
/// lines: the hot path writes only lines of its own thread.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct HistogramCell {
    /// Per-bucket counts (not cumulative). Invariant: only the owning thread writes.
    buckets: [AtomicU64; BUCKETS],
    /// Sum of all observations in nanoseconds (wraps after ~584 years of summed latency).
    sum_nanos: AtomicU64,
}

impl HistogramCell {
    fn new() -> Self {
        HistogramCell {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Records one observation. Must only be called by the owning thread.
    #[inline]
    pub(crate) fn record(&self, bounds: &Padded, nanos: u64) {
        // The index is at most the number of bounds (`MAX_BUCKET_BOUNDS`), so the bucket
        // always exists; `get` keeps the hot path free of a panic branch anyway.
        if let Some(b) = self.buckets.get(bucket_of(bounds, nanos)) {
            // Single writer: a plain load + store is exact and avoids a locked RMW. Relaxed
            // pairs with the exporter's relaxed reads; it needs no ordering with other memory.
            b.store(b.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
        let s = &self.sum_nanos;
        s.store(
            s.load(Ordering::Relaxed).wrapping_add(nanos),
            Ordering::Relaxed,
        );
    }

    /// Records one observation from any thread (the fallback shard: atomic read-modify-writes,
    /// exact under concurrent writers).
    pub(crate) fn record_shared(&self, bounds: &Padded, nanos: u64) {
        // Relaxed: independent counters; the exporter's reads need no ordering with them.
        if let Some(b) = self.buckets.get(bucket_of(bounds, nanos)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Zeroes the counts (in a forked child only).
    fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
        self.sum_nanos.store(0, Ordering::Relaxed);
    }

    /// Adds this cell's counts into `into`.
    pub(crate) fn add_to(&self, into: &mut HistogramTotals) {
        for (t, b) in into.buckets.iter_mut().zip(&self.buckets) {
            *t += b.load(Ordering::Relaxed);
        }
        into.sum_nanos = into
            .sum_nanos
            .wrapping_add(self.sum_nanos.load(Ordering::Relaxed));
    }
}

/// Summed counts of one series (exporter side).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HistogramTotals {
    pub(crate) buckets: [u64; BUCKETS],
    pub(crate) sum_nanos: u64,
    /// The exponential buckets, when the option is on.
    pub(crate) expo: Option<ExpoTotals>,
}

impl HistogramTotals {
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// Every series of one callsite, on one thread. Series cells are allocated on first use
/// (warm-up), so a callsite with a large label space costs memory only for series it hits.
#[derive(Debug)]
pub(crate) struct CallsiteCells {
    /// The function these cells count; the aggregator needs nothing else to label them.
    pub(crate) callsite: &'static Callsite,
    /// Dense index of the callsite (the aggregation key).
    pub(crate) index: usize,
    /// The callsite's bucket bounds in nanoseconds, kept here so the hot path finds them from
    /// the line it already loads.
    bounds: &'static Padded,
    series: Box<[OnceLock<Box<HistogramCell>>]>,
    /// The exponential cells of the series, one per series when the option was on when these
    /// cells were made, else empty (the default path then pays one length compare).
    expo: Box<[OnceLock<Box<ExpoCell>>]>,
}

impl CallsiteCells {
    pub(crate) fn new(callsite: &'static Callsite, index: usize) -> Self {
        CallsiteCells {
            callsite,
            index,
            bounds: callsite.buckets().padded(),
            series: (0..callsite.series_count())
                .map(|_| OnceLock::new())
                .collect(),
            expo: if exponential::enabled() {
                (0..callsite.series_count())
                    .map(|_| OnceLock::new())
                    .collect()
            } else {
                Box::new([])
            },
        }
    }

    /// Records a sample in series `index` (out-of-range indices land in the last series so a
    /// bug in index computation can never panic the application).
    #[inline]
    pub(crate) fn record(&self, index: usize, nanos: u64) {
        let last = self.series.len().saturating_sub(1);
        if let Some(slot) = self.series.get(index.min(last)) {
            slot.get_or_init(|| Box::new(HistogramCell::new()))
                .record(self.bounds, nanos);
        }
        if !self.expo.is_empty() {
            self.record_exponential(index.min(last), nanos);
        }
    }

    /// The exponential half of [`CallsiteCells::record`], out of line so the default path's
    /// code (and what the compiler inlines around it) stays as it was without the option.
    #[inline(never)]
    fn record_exponential(&self, index: usize, nanos: u64) {
        if let Some(slot) = self.expo.get(index) {
            slot.get_or_init(|| Box::new(ExpoCell::new())).record(nanos);
        }
    }

    /// Like [`CallsiteCells::record`], from any thread (the fallback shard).
    pub(crate) fn record_shared(&self, index: usize, nanos: u64) {
        let last = self.series.len().saturating_sub(1);
        if let Some(slot) = self.series.get(index.min(last)) {
            slot.get_or_init(|| Box::new(HistogramCell::new()))
                .record_shared(self.bounds, nanos);
        }
        if let Some(slot) = self.expo.get(index.min(last)) {
            slot.get_or_init(|| Box::new(ExpoCell::new()))
                .record_shared(nanos);
        }
    }

    /// Zeroes every series (in a forked child only).
    pub(crate) fn reset(&self) {
        for (_, cell) in self.iter() {
            cell.reset();
        }
        for cell in self.expo.iter().filter_map(OnceLock::get) {
            cell.reset();
        }
    }

    /// The exponential cell of series `index`, if the option is on and it was recorded.
    pub(crate) fn expo(&self, index: usize) -> Option<&ExpoCell> {
        self.expo.get(index).and_then(|s| s.get()).map(|c| &**c)
    }

    /// `(series index, cell)` of every series recorded so far.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &HistogramCell)> {
        self.series
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.get().map(|c| (i, &**c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_sum() {
        static CS: Callsite = Callsite::new("f", "t", "m", "f.rs", 1, crate::Level::Info, &[]);
        let cells = CallsiteCells::new(&CS, 0);
        cells.record(0, 50);
        cells.record(0, 100);
        cells.record(0, 101);
        cells.record(1, 20_000_000_000);
        cells.record(9, 1); // out of range: clamped, never panics
        let mut t0 = HistogramTotals::default();
        let mut t1 = HistogramTotals::default();
        for (i, c) in cells.iter() {
            c.add_to(if i == 0 { &mut t0 } else { &mut t1 });
        }
        assert_eq!(t0.buckets[0], 2, "50ns and 100ns are <= 100ns");
        assert_eq!(t0.buckets[1], 1);
        assert_eq!(t0.sum_nanos, 251);
        assert_eq!(t1.buckets[crate::BOUNDS_SECONDS.len()], 1, "20s is in +Inf");
        assert_eq!(t1.count(), 2);
    }

    #[test]
    fn a_callsite_with_its_own_bounds_counts_in_them() {
        static OWN: Buckets = Buckets::new(&[1e-6, 1e-3], &[1_000, 1_000_000]);
        static CS: Callsite =
            Callsite::new("f", "t", "m", "f.rs", 1, crate::Level::Info, &[]).with_buckets(&OWN);
        let cells = CallsiteCells::new(&CS, 0);
        for nanos in [1, 1_000, 1_001, 999_999, 1_000_000, 1_000_001, u64::MAX] {
            cells.record(0, nanos);
        }
        let mut t = HistogramTotals::default();
        cells.iter().for_each(|(_, c)| c.add_to(&mut t));
        assert_eq!(
            t.buckets[..4],
            [2, 3, 2, 0],
            "le=1us, le=1ms, +Inf; nothing beyond"
        );
        assert_eq!(CS.buckets().len(), 3);
    }

    #[test]
    fn every_cell_has_room_for_the_most_bounds_in_two_cache_lines() {
        assert_eq!(std::mem::size_of::<HistogramCell>(), 256);
        assert_eq!(BUCKETS, MAX_BUCKET_BOUNDS + 1);
    }
}
