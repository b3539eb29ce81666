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

/// Upper bounds of the default latency buckets, in seconds (the `le` values exported for a
/// function without `#[instrument(buckets = [...])]`).
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

/// Most bucket bounds one function may have (`#[instrument(buckets = [...])]` is checked
/// against it at compile time). 30 bounds make 31 buckets plus the sum: 32 words, the same
/// two cache lines a cell of the 20 default bounds already takes.
pub const MAX_BUCKET_BOUNDS: usize = 30;

/// Number of bucket slots of every cell (the last one used is `+Inf`).
pub(crate) const BUCKETS: usize = MAX_BUCKET_BOUNDS + 1;

/// Slots of the padded nanosecond bounds: a power of two above [`MAX_BUCKET_BOUNDS`], so the
/// padding always holds at least one `u64::MAX` after the last bound.
const SLOTS: usize = 32;

/// One function's bounds as the hot path reads them: in nanoseconds, the unused slots
/// `u64::MAX` (no latency is above them, so [`bucket_of`] never walks past `+Inf`'s index),
/// and for each bit length `k` (0..=64) how many bounds are below `2^(k-1)` (the bucket of
/// the smallest duration of that length), so the lookup starts at the right bucket.
#[derive(Debug, PartialEq)]
pub(crate) struct Padded {
    nanos: [u64; SLOTS],
    first: [u8; 65],
}

/// The bucket bounds of one function's latency histogram, in seconds (exported) and in
/// nanoseconds (compared on the hot path). Made by `#[instrument(buckets = [...])]`, which
/// checks the list at compile time; [`DEFAULT_BUCKETS`] otherwise.
#[derive(Debug, PartialEq)]
pub struct Buckets {
    seconds: &'static [f64],
    nanos: Padded,
    len: usize,
}

/// The bounds of a function that does not choose its own ([`BOUNDS_SECONDS`]).
pub const DEFAULT_BUCKETS: Buckets = Buckets::new(&BOUNDS_SECONDS, &BOUNDS_NANOS);

impl Buckets {
    /// Bounds from the same list in seconds and in nanoseconds (what the macro generates, in a
    /// `static`). Panics, which in a `static` is a compile error, unless both lists have the
    /// same length, at most [`MAX_BUCKET_BOUNDS`] entries, and the nanoseconds strictly
    /// increase below `u64::MAX`.
    #[must_use]
    pub const fn new(seconds: &'static [f64], nanos: &[u64]) -> Buckets {
        assert!(
            seconds.len() == nanos.len(),
            "bucket lists differ in length"
        );
        assert!(nanos.len() <= MAX_BUCKET_BOUNDS, "too many bucket bounds");
        let mut padded = [u64::MAX; SLOTS];
        let mut i = 0;
        while i < nanos.len() {
            assert!(
                i == 0 || nanos[i - 1] < nanos[i],
                "bucket bounds must increase"
            );
            assert!(nanos[i] < u64::MAX, "bucket bound out of range");
            padded[i] = nanos[i];
            i += 1;
        }
        let mut first = [0u8; 65];
        let mut k = 0;
        while k <= 64 {
            let lo: u64 = if k == 0 { 0 } else { 1 << (k - 1) };
            let mut n = 0;
            while n < nanos.len() && nanos[n] < lo {
                n += 1;
            }
            first[k] = n as u8;
            k += 1;
        }
        Buckets {
            seconds,
            nanos: Padded {
                nanos: padded,
                first,
            },
            len: nanos.len(),
        }
    }

    /// Upper bounds in seconds, ascending (`+Inf` implied).
    pub fn seconds(&self) -> &'static [f64] {
        self.seconds
    }

    /// Upper bounds in nanoseconds, padded (see [`Padded`]).
    pub(crate) fn padded(&self) -> &Padded {
        &self.nanos
    }

    /// Number of buckets, `+Inf` included.
    pub(crate) fn len(&self) -> usize {
        self.len + 1
    }
}

/// The bucket of a duration: the first bound `>=` it (`le` semantics), or the number of
/// bounds (`+Inf`), without a search. The duration's bit length picks the bucket of the
/// smallest value of that length (`Padded::first`); the walk from there passes only bounds
/// inside the same power-of-two range: none or one for the default bounds (consecutive ones are
/// at least 2x apart), so three dependent steps (`lzcnt`, a byte load, one compare against a
/// bound) instead of ~5 compare-and-branch rounds of a binary search.
#[inline(always)]
pub(crate) fn bucket_of(bounds: &Padded, nanos: u64) -> usize {
    let bits = (u64::BITS - nanos.leading_zeros()) as usize;
    let mut i = bounds.first[bits] as usize;
    // Terminates at the first `u64::MAX` padding slot at the latest (index <= MAX_BUCKET_BOUNDS).
    while i < SLOTS - 1 && nanos > bounds.nanos[i] {
        i += 1;
    }
    i
}

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
    }

    /// Like [`CallsiteCells::record`], from any thread (the fallback shard).
    pub(crate) fn record_shared(&self, index: usize, nanos: u64) {
        let last = self.series.len().saturating_sub(1);
        if let Some(slot) = self.series.get(index.min(last)) {
            slot.get_or_init(|| Box::new(HistogramCell::new()))
                .record_shared(self.bounds, nanos);
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
        assert_eq!(t1.buckets[BOUNDS_NANOS.len()], 1, "20s is in +Inf");
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

    #[test]
    fn bounds_agree() {
        for (s, n) in BOUNDS_SECONDS.iter().zip(BOUNDS_NANOS) {
            assert!((s * 1e9 - n as f64).abs() < 1e-3, "{s} vs {n}");
        }
    }

    #[test]
    fn bucket_of_is_the_search_for_default_and_dense_bounds() {
        // Dense: several bounds inside one power-of-two range (the walk takes more steps).
        static DENSE: Buckets = Buckets::new(
            &[1e-9, 2e-9, 3e-9, 5e-9, 6e-9, 7e-9, 1e-6, 1.1e-6, 1.2e-6],
            &[1, 2, 3, 5, 6, 7, 1_000, 1_100, 1_200],
        );
        for buckets in [&DEFAULT_BUCKETS, &DENSE] {
            let bounds = &buckets.padded().nanos[..buckets.len() - 1];
            let search = |n: u64| bounds.partition_point(|&b| b < n);
            let mut edges = vec![0, 1, 2, u64::MAX - 1, u64::MAX];
            for &b in bounds {
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
                assert_eq!(bucket_of(buckets.padded(), n), search(n), "{n}");
            }
        }
    }
}
