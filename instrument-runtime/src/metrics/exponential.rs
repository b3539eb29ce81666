//! Base-2 exponential latency histograms (OTLP `ExponentialHistogram`), recorded exactly on
//! the call path at one fixed fine scale and downscaled exactly at export.
//!
//! Recording: every call's latency `nanos` is the value `nanos as f64 / 1e9` seconds (the value
//! the histogram's sum adds up). At [`SCALE`] 3 (8 buckets per octave, base `2^(1/8)`), OTLP
//! bucket `i` holds the values in `(2^(i/8), 2^((i+1)/8)]`. Its index comes from the f64's
//! exponent bits and a 256-entry table on the top 8 mantissa bits plus one compare against the
//! octave's exact threshold (no `log2`). The recorded range is `(2^-30 s, 2^12 s]` (0.93 ns to
//! 68 min, [`SLOTS`] buckets): a latency of 0 ns is counted in the zero bucket, a latency over
//! 2^12 s (4096 s) in the last bucket (clamped). Every latency of at least 1 ns is above 2^-30 s,
//! so nothing else underflows.
//!
//! Export: adjacent buckets are merged (bucket `i` of scale `s - 1` is buckets `2i` and `2i + 1`
//! of scale `s`) until the populated range fits the exporter's `max_size`, so counts stay exact
//! and only the resolution drops.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The scale every call is recorded at: 8 buckets per octave.
pub const EXPONENTIAL_SCALE: i32 = 3;
const SCALE: i32 = EXPONENTIAL_SCALE;
/// The lowest recorded octave: bucket `(2^-30, 2^(-30 + 1/8)]` s is the first.
const MIN_OCTAVE: i32 = -30;
/// The recorded range ends at `2^12` s.
const MAX_OCTAVE: i32 = 12;
/// Buckets recorded per (series, thread), not counting the zero bucket.
pub(crate) const SLOTS: usize = ((MAX_OCTAVE - MIN_OCTAVE) << SCALE) as usize;
/// The OTLP index (at the recording scale) of the first recorded bucket.
pub(crate) const FIRST_INDEX: i32 = MIN_OCTAVE << SCALE;
/// The OTLP SDK's default `max_size` of an exponential histogram (buckets per point).
pub const EXPONENTIAL_MAX_SIZE: usize = 160;

/// Whether calls are recorded in exponential cells too (set once at install, never cleared).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns exponential recording on for the rest of the process (cells made from now on carry
/// exponential buckets).
pub(crate) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether exponential recording is on.
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// `floor(frac(2^(k/8)) * 2^52)` for k = 1..=7: the f64 mantissa bits just below each
/// in-octave boundary (computed to 60 digits; `2^(k/8)` is irrational, so no f64 equals it and
/// a mantissa is above the boundary exactly when it is above this). Index 7 never compares
/// true.
const THRESHOLDS: [u64; 8] = [
    407_610_591_105_402,
    852_113_092_622_101,
    1_336_846_507_715_111,
    1_865_452_045_155_276,
    2_441_900_471_263_451,
    3_070_521_937_417_133,
    3_756_038_507_177_095,
    u64::MAX,
];

/// For each value of the top 8 mantissa bits, how many boundaries lie entirely below it (at
/// most one boundary falls inside one such cell, so one compare finishes the job).
const CELL_TABLE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let mut n = 0;
        while n < 7 && (THRESHOLDS[n] >> 44) < c as u64 {
            n += 1;
        }
        table[c] = n as u8;
        c += 1;
    }
    table
};

/// The OTLP bucket index at [`EXPONENTIAL_SCALE`] of a positive, finite, normal `seconds`:
/// the `i` with `2^(i/8) < seconds <= 2^((i+1)/8)`.
#[inline]
pub fn index_of(seconds: f64) -> i32 {
    let bits = seconds.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mantissa = bits & ((1 << 52) - 1);
    let mut j = CELL_TABLE[(mantissa >> 44) as usize] as usize;
    j += (mantissa > THRESHOLDS[j]) as usize;
    // An exact power of two is the upper bound of the bucket below its octave.
    (exponent << SCALE) + j as i32 - (mantissa == 0) as i32
}

/// The slot of a latency in an [`ExpoCell`]: 0 is the zero bucket (0 ns), then the recorded
/// range, the last slot also holding every latency above it.
#[inline]
fn slot_of(nanos: u64) -> usize {
    // 0 ns gives 0.0, whose index is far below the range: the clamp puts it in slot 0.
    // Latencies are below 2^63 ns (292 years): the signed conversion is one instruction.
    let index = index_of((nanos.min(i64::MAX as u64) as i64) as f64 / 1e9);
    (index - FIRST_INDEX + 1).clamp(0, SLOTS as i32) as usize
}

/// One series' exponential buckets on one thread. Single writer: the owning thread (or atomic
/// read-modify-writes in the shared fallback shard). `SLOTS + 1` counters, 2816 bytes with
/// the 128-byte alignment, allocated only when the option is on.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct ExpoCell {
    /// Slot 0: the zero bucket; slot `s >= 1`: OTLP bucket `FIRST_INDEX + s - 1`.
    slots: [AtomicU64; SLOTS + 1],
}

impl ExpoCell {
    pub(crate) fn new() -> Self {
        ExpoCell {
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Records one latency. Must only be called by the owning thread.
    #[inline]
    pub(crate) fn record(&self, nanos: u64) {
        if let Some(s) = self.slots.get(slot_of(nanos)) {
            // Single writer: plain load + store, as in `HistogramCell::record`.
            s.store(s.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    }

    /// Records one latency from any thread (the fallback shard).
    pub(crate) fn record_shared(&self, nanos: u64) {
        if let Some(s) = self.slots.get(slot_of(nanos)) {
            s.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Zeroes the counts (in a forked child only).
    pub(crate) fn reset(&self) {
        for s in &self.slots {
            s.store(0, Ordering::Relaxed);
        }
    }

    /// Adds this cell's counts into `into`.
    pub(crate) fn add_to(&self, into: &mut ExpoTotals) {
        for (t, s) in into.slots.iter_mut().zip(&self.slots) {
            *t += s.load(Ordering::Relaxed);
        }
    }
}

/// Summed exponential counts of one series (exporter side).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExpoTotals {
    slots: Box<[u64]>,
}

impl Default for ExpoTotals {
    fn default() -> Self {
        ExpoTotals {
            slots: vec![0; SLOTS + 1].into_boxed_slice(),
        }
    }
}

impl ExpoTotals {
    /// `(zero_count, offset, counts)` at the recording scale, trimmed to the populated range.
    pub(crate) fn buckets(&self) -> (u64, i32, Vec<u64>) {
        let zero = self.slots[0];
        let (offset, counts) = trim(FIRST_INDEX, &self.slots[1..]);
        (zero, offset, counts.to_vec())
    }
}

/// `counts` starting at bucket `offset`, without the empty buckets at either end.
pub(crate) fn trim(offset: i32, counts: &[u64]) -> (i32, &[u64]) {
    let Some(first) = counts.iter().position(|&c| c != 0) else {
        return (0, &[]);
    };
    let last = counts.iter().rposition(|&c| c != 0).unwrap_or(first);
    (offset + first as i32, &counts[first..=last])
}

/// Merges `counts` (from bucket `offset`) `by` scales down: bucket `i` goes to `i >> by`.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))] // used by the OTLP exporter
pub(crate) fn downscale(offset: i32, counts: &[u64], by: u32) -> (i32, Vec<u64>) {
    let (offset, counts) = trim(offset, counts);
    if counts.is_empty() || by == 0 {
        return (offset, counts.to_vec());
    }
    let by = by.min(31);
    let first = offset >> by;
    let last = (offset + counts.len() as i32 - 1) >> by;
    let mut out = vec![0u64; (last - first + 1) as usize];
    for (k, &c) in counts.iter().enumerate() {
        out[(((offset + k as i32) >> by) - first) as usize] += c;
    }
    (first, out)
}

/// The smallest reduction of scale after which the populated buckets span at most `max_size`
/// buckets (`max_size` of at least 2 always fits within a few reductions).
#[cfg_attr(not(feature = "otlp"), allow(dead_code))] // used by the OTLP exporter
pub(crate) fn reduction_to_fit(offset: i32, counts: &[u64], max_size: usize) -> u32 {
    let (offset, counts) = trim(offset, counts);
    if counts.is_empty() {
        return 0;
    }
    let last = offset + counts.len() as i32 - 1;
    let max_size = max_size.max(2) as i64;
    let mut by = 0;
    while by < 31 && i64::from((last >> by) - (offset >> by)) + 1 > max_size {
        by += 1;
    }
    by
}

/// `current - baseline`, both from bucket offsets at the same scale (exact when every bucket
/// of `current` is at least the baseline's, which cumulative counts of one series are).
/// `None` if some bucket went down (the series was reset).
#[cfg_attr(not(feature = "otlp"), allow(dead_code))] // used by the OTLP exporter
pub(crate) fn subtract(current: (i32, &[u64]), baseline: (i32, &[u64])) -> Option<(i32, Vec<u64>)> {
    let (co, cc) = current;
    let (bo, bc) = trim(baseline.0, baseline.1);
    let mut out = cc.to_vec();
    for (k, &b) in bc.iter().enumerate() {
        let i = bo + k as i32 - co;
        let slot = usize::try_from(i).ok().and_then(|i| out.get_mut(i));
        match slot {
            Some(c) if *c >= b => *c -= b,
            _ if b == 0 => {}
            _ => return None,
        }
    }
    let (offset, counts) = trim(co, &out);
    Some((offset, counts.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x > 2^(k/8)` for `x` in `[1, 2)`, exactly: `M^8 > 2^(416 + k)` with `M` the 53-bit
    /// significand, in big integers (base 2^32 limbs).
    fn above(x: f64, k: u32) -> bool {
        let m = (x.to_bits() & ((1 << 52) - 1)) | (1 << 52);
        let mut p: Vec<u64> = vec![1];
        for _ in 0..8 {
            let mut next = vec![0u64; p.len() + 3];
            for (i, &limb) in p.iter().enumerate() {
                let mut carry = 0u128;
                for (j, part) in [m & 0xffff_ffff, m >> 32].iter().enumerate() {
                    let v = next[i + j] as u128 + limb as u128 * *part as u128 + carry;
                    next[i + j] = (v & 0xffff_ffff) as u64;
                    carry = v >> 32;
                }
                let mut at = i + 2;
                while carry > 0 {
                    let v = next[at] as u128 + carry;
                    next[at] = (v & 0xffff_ffff) as u64;
                    carry = v >> 32;
                    at += 1;
                }
            }
            p = next;
        }
        // Compare with 2^(416 + k): limb (416 + k) / 32, bit (416 + k) % 32.
        let bit = 416 + k as usize;
        let (limb, shift) = (bit / 32, bit % 32);
        let top = p.iter().rposition(|&l| l != 0).unwrap_or(0);
        if top != limb {
            return top > limb;
        }
        let l = p[limb];
        l > 1 << shift || (l == 1 << shift && p[..limb].iter().any(|&x| x != 0))
    }

    /// The reference index: the octave from `log2` rounded down (checked), the bucket inside
    /// it by the exact comparison above.
    fn reference(x: f64) -> i32 {
        let mut e = x.log2().floor() as i32;
        while 2f64.powi(e) > x {
            e -= 1;
        }
        while 2f64.powi(e + 1) <= x {
            e += 1;
        }
        let r = x / 2f64.powi(e); // exact: a power-of-two division
        if r == 1.0 {
            return 8 * e - 1;
        }
        let j = (1..8).filter(|&k| above(r, k)).count() as i32;
        8 * e + j
    }

    #[test]
    fn index_matches_the_reference_at_every_boundary_plus_and_minus_one_ulp() {
        for e in -40..20 {
            for k in 0..8 {
                let b = 2f64.powi(e) * 2f64.powf(k as f64 / 8.0);
                for x in [b.next_down(), b, b.next_up()] {
                    assert_eq!(index_of(x), reference(x), "x = {x:e} (e {e}, k {k})");
                }
            }
        }
        // The log2-based formula agrees away from boundaries.
        for x in [1e-9f64, 3.3e-7, 0.0042, 1.0, 1.5, 7.25, 1000.0] {
            let naive = (x.log2() * 8.0).ceil() as i32 - 1;
            assert_eq!(index_of(x), naive, "x = {x}");
        }
        assert_eq!(index_of(1.0), -1, "1 is the upper bound of (2^(-1/8), 1]");
        assert_eq!(index_of(2.0), 7);
    }

    #[test]
    fn index_matches_the_reference_on_random_values() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let nanos = s >> (s % 50);
            if nanos == 0 {
                continue;
            }
            let x = nanos as f64 / 1e9;
            assert_eq!(index_of(x), reference(x), "nanos = {nanos}");
        }
    }

    #[test]
    fn slots_cover_zero_the_range_and_clamp_overflow() {
        assert_eq!(slot_of(0), 0);
        assert!(slot_of(1) >= 1, "1 ns is above 2^-30 s");
        assert_eq!(slot_of(1) as i32 - 1 + FIRST_INDEX, index_of(1e-9));
        assert_eq!(slot_of(u64::MAX), SLOTS);
        assert_eq!(
            slot_of(4_096_000_000_000),
            SLOTS,
            "2^12 s is the last bucket's bound"
        );
        assert_eq!(SLOTS, 336);
    }

    fn random_counts(seed: &mut u64) -> (i32, Vec<u64>) {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        let offset = (next() % 400) as i32 - 240;
        let len = (next() % 340) as usize;
        let counts = (0..len)
            .map(|_| if next() % 3 == 0 { 0 } else { next() % 1000 })
            .collect();
        (offset, counts)
    }

    #[test]
    fn downscaling_keeps_every_count_in_the_bucket_containing_its_own() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        for _ in 0..500 {
            let (offset, counts) = random_counts(&mut seed);
            let total: u64 = counts.iter().sum();
            for by in 0..6u32 {
                let (o, c) = downscale(offset, &counts, by);
                assert_eq!(c.iter().sum::<u64>(), total);
                // Each source bucket's range (2^(i/8), 2^((i+1)/8)] lies inside its target's.
                let mut expected = vec![0u64; c.len()];
                for (k, &n) in counts.iter().enumerate() {
                    let i = offset + k as i32;
                    let target = i.div_euclid(1 << by);
                    assert!(target << by <= i && i < (target + 1) << by);
                    if n > 0 {
                        expected[(target - o) as usize] += n;
                    }
                }
                assert_eq!(c, expected);
            }
            let by = reduction_to_fit(offset, &counts, EXPONENTIAL_MAX_SIZE);
            let (_, fitted) = downscale(offset, &counts, by);
            assert!(fitted.len() <= EXPONENTIAL_MAX_SIZE);
            if by > 0 {
                let (_, finer) = downscale(offset, &counts, by - 1);
                assert!(
                    finer.len() > EXPONENTIAL_MAX_SIZE,
                    "the largest scale that fits"
                );
            }
        }
    }

    #[test]
    fn subtracting_then_downscaling_equals_downscaling_then_subtracting() {
        let mut seed = 0xdead_beef_cafe_f00du64;
        for _ in 0..300 {
            let (bo, base) = random_counts(&mut seed);
            let (_, extra) = random_counts(&mut seed);
            let current: Vec<u64> = base
                .iter()
                .chain(std::iter::repeat(&0))
                .zip(extra.iter().chain(std::iter::repeat(&0)))
                .take(base.len().max(extra.len()))
                .map(|(a, b)| a + b)
                .collect();
            let (o, delta) = subtract((bo, &current), (bo, &base)).expect("grew");
            let (eo, expected) = trim(bo, &extra[..extra.len().min(current.len())]);
            assert_eq!((o, delta.as_slice()), (eo, expected));
            assert!(
                subtract((bo, &base), (bo, &current)).is_none() || extra.iter().all(|&e| e == 0)
            );
        }
    }
}
