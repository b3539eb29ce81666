//! Latency bucket bounds: the default ones, a function's own (`#[instrument(buckets = [...])]`),
//! and the hot path's lookup of a duration's bucket. A leaf of the metrics layer (the callsite
//! static holds its [`Buckets`]; the histogram cells count in them).

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

#[cfg(test)]
mod tests {
    use super::*;

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
