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

use crate::callsite::Callsite;

/// Metric shards created since the exporter thread last looked (pushed by the thread that
/// creates a shard, drained by the aggregator).
pub(crate) static NEW_CELLS: SegQueue<Arc<CallsiteCells>> = SegQueue::new();

/// Upper bounds of the latency buckets, in seconds (the `le` values exported).
pub const BOUNDS_SECONDS: [f64; 20] = [
    1e-7, 5e-7, 1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// The same bounds in nanoseconds, for the hot path's integer comparison.
const BOUNDS_NANOS: [u64; 20] = [
    100,
    500,
    1_000,
    5_000,
    10_000,
    50_000,
    100_000,
    500_000,
    1_000_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Number of buckets, the last one being `+Inf`.
pub(crate) const BUCKETS: usize = BOUNDS_NANOS.len() + 1;

/// The bucket of a duration: the first bound `>=` it (`BOUNDS_NANOS.partition_point(|&b| b <
/// nanos)`), without a search. The duration's bit length picks the bucket of the smallest
/// value of that length ([`FIRST_BUCKET`]); every range `[2^(k-1), 2^k)` holds at most one
/// bound (consecutive bounds are at least 2x apart, checked at compile time below), so one
/// comparison with that bucket's bound finishes it. Three dependent steps (`lzcnt`, a byte
/// table load, a compare against one bound) instead of ~5 compare-and-branch rounds.
#[inline(always)]
pub(crate) fn bucket_of(nanos: u64) -> usize {
    let bits = (u64::BITS - nanos.leading_zeros()) as usize;
    let first = FIRST_BUCKET[bits] as usize;
    let i = first + usize::from(nanos > BOUNDS_OR_MAX[first]);
    i.min(BUCKETS - 1)
}

/// `BOUNDS_NANOS` and `u64::MAX` for the `+Inf` bucket (so [`bucket_of`] needs no branch).
const BOUNDS_OR_MAX: [u64; BUCKETS] = {
    let mut out = [u64::MAX; BUCKETS];
    let mut i = 0;
    while i < BOUNDS_NANOS.len() {
        out[i] = BOUNDS_NANOS[i];
        i += 1;
    }
    out
};

/// For each bit length `k` (0..=64): the bucket of `2^(k-1)` (of 0 for `k = 0`), i.e. how many
/// bounds are below it.
const FIRST_BUCKET: [u8; 65] = {
    let mut out = [0u8; 65];
    let mut k = 0;
    while k <= 64 {
        let lo: u64 = if k == 0 { 0 } else { 1 << (k - 1) };
        let mut n = 0;
        while n < BOUNDS_NANOS.len() && BOUNDS_NANOS[n] < lo {
            n += 1;
        }
        out[k] = n as u8;
        // The largest value of this length is at most one bucket further: the next bound
        // but one is not below it (else `bucket_of` would need a second comparison).
        let hi: u64 = if k == 0 { 0 } else { lo + (lo - 1) };
        assert!(n + 1 >= BOUNDS_NANOS.len() || BOUNDS_NANOS[n + 1] >= hi);
        k += 1;
    }
    out
};

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
    pub(crate) fn record(&self, nanos: u64) {
        let i = bucket_of(nanos);
        // Single writer: a plain load + store is exact and avoids a locked RMW. Relaxed pairs
        // with the exporter's relaxed reads; it needs no ordering with other memory.
        let b = &self.buckets[i];
        b.store(b.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        let s = &self.sum_nanos;
        s.store(
            s.load(Ordering::Relaxed).wrapping_add(nanos),
            Ordering::Relaxed,
        );
    }

    /// Records one observation from any thread (the fallback shard: atomic read-modify-writes,
    /// exact under concurrent writers).
    pub(crate) fn record_shared(&self, nanos: u64) {
        let i = bucket_of(nanos);
        // Relaxed: independent counters; the exporter's reads need no ordering with them.
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
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
    series: Box<[OnceLock<Box<HistogramCell>>]>,
}

impl CallsiteCells {
    pub(crate) fn new(callsite: &'static Callsite, index: usize) -> Self {
        CallsiteCells {
            callsite,
            index,
            series: (0..callsite.series_count())
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    /// Records a sample in series `index` (out-of-range indices land in the last series so a
    /// bug in index computation can never panic the application).
    #[inline]
    pub(crate) fn record(&self, index: usize, nanos: u64) {
        let last = self.series.len().saturating_sub(1);
        if let Some(slot) = self.series.get(index.min(last)) {
            slot.get_or_init(|| Box::new(HistogramCell::new()))
                .record(nanos);
        }
    }

    /// Like [`CallsiteCells::record`], from any thread (the fallback shard).
    pub(crate) fn record_shared(&self, index: usize, nanos: u64) {
        let last = self.series.len().saturating_sub(1);
        if let Some(slot) = self.series.get(index.min(last)) {
            slot.get_or_init(|| Box::new(HistogramCell::new()))
                .record_shared(nanos);
        }
    }

    /// Zeroes every series (in a forked child only).
    pub(crate) fn reset(&self) {
        for (_, cell) in self.iter() {
            cell.reset();
        }
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
        assert_eq!(t1.buckets[BUCKETS - 1], 1, "20s is in +Inf");
        assert_eq!(t1.count(), 2);
    }

    #[test]
    fn bucket_of_is_the_search() {
        let search = |n: u64| BOUNDS_NANOS.partition_point(|&b| b < n);
        let mut edges = vec![0, 1, 2, u64::MAX - 1, u64::MAX];
        for b in BOUNDS_NANOS {
            edges.extend([b - 1, b, b + 1]);
        }
        for k in 1..64 {
            let p = 1u64 << k;
            edges.extend([p - 1, p, p + 1]);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            // xorshift, with a random bit length so every range is hit
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            edges.push(x >> (x % 64));
        }
        for n in edges {
            assert_eq!(bucket_of(n), search(n), "{n}");
        }
    }

    #[test]
    fn bounds_agree() {
        for (s, n) in BOUNDS_SECONDS.iter().zip(BOUNDS_NANOS) {
            assert!((s * 1e9 - n as f64).abs() < 1e-3, "{s} vs {n}");
        }
    }
}
