//! The one clock: raw ticks of the fastest monotonic source for the hot path, scaled to
//! nanoseconds when a duration is needed, and mapped to wall-clock time (anchor + monotonic
//! elapsed) on the exporter thread.
//!
//! Through `quanta`: on x86_64 with an invariant TSC a tick is one `rdtsc` (no syscall, a few
//! nanoseconds) and scaling is a multiply and a shift; elsewhere it falls back to
//! `CLOCK_MONOTONIC`. (`minstant`, the other candidate, falls back to the *wall* clock, which
//! can go backwards, and only converts through `f64` and `Duration`.) The TSC is calibrated
//! once, up to a few milliseconds, when the pipeline is installed (or by the first
//! instrumented call, if that comes first). Durations saturate at zero: never negative.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::LazyLock;

static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(|| {
    let clock = quanta::Clock::new();
    if reads_the_tsc(&clock) {
        // Relaxed: a standalone flag; until a thread sees it, it reads through `quanta`, whose
        // raw value is the same TSC reading.
        TSC.store(true, Ordering::Relaxed);
        // Relaxed: a standalone value (0 until set: `nanos_between` then asks `quanta`).
        NANOS_PER_2_40_TICKS.store(clock.delta_as_nanos(0, 1 << SCALE_SHIFT), Ordering::Relaxed);
    }
    clock
});

/// Bits of the fixed-point tick-to-nanosecond factor.
const SCALE_SHIFT: u32 = 40;

/// Nanoseconds per `2^40` TSC ticks, as `quanta` calibrated them (0 until the clock is known
/// to be the TSC): the hot path scales a duration with one multiply and shift, without going
/// through the lazily initialised `quanta::Clock` and its source match. Relative difference
/// from `quanta`'s own scaling: below `1e-11` (the factor is ~`4e11`).
static NANOS_PER_2_40_TICKS: AtomicU64 = AtomicU64::new(0);

/// `true` once the clock is known to be the TSC itself (`quanta`'s raw value is `rdtsc`): the
/// hot path then reads it inline instead of calling into `quanta` and matching its source.
static TSC: AtomicBool = AtomicBool::new(false);

/// `true` if `clock`'s raw readings are TSC readings (a raw value between two `rdtsc`s;
/// `quanta`'s fallback, `CLOCK_MONOTONIC` nanoseconds, is a different scale).
fn reads_the_tsc(clock: &quanta::Clock) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        (0..3).any(|_| {
            let before = rdtsc();
            let raw = clock.raw();
            let after = rdtsc();
            before <= raw && raw <= after
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = clock;
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code, reason = "the one intrinsic of the hot path")]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86_64 CPU, reads a register and touches no memory;
    // it is used only after `quanta` chose the TSC as its source (invariant, calibrated).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// A raw reading of the clock: comparable with other readings, convertible to nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(u64);

impl Instant {
    /// The earliest instant (a placeholder that is never measured from).
    pub(crate) const ZERO: Instant = Instant(0);

    /// Now, in raw ticks.
    #[inline(always)]
    pub(crate) fn now() -> Instant {
        #[cfg(target_arch = "x86_64")]
        if TSC.load(Ordering::Relaxed) {
            return Instant(rdtsc());
        }
        Instant::now_through_quanta()
    }

    #[inline(never)]
    fn now_through_quanta() -> Instant {
        Instant(CLOCK.raw())
    }
}

/// Calibrates the clock now rather than on the first instrumented call.
pub(crate) fn calibrate() {
    LazyLock::force(&CLOCK);
}

/// Nanoseconds from `start` to `end`, zero if the clock went backwards.
#[inline]
pub(crate) fn nanos_between(start: Instant, end: Instant) -> u64 {
    let factor = NANOS_PER_2_40_TICKS.load(Ordering::Relaxed);
    if factor != 0 {
        let ticks = end.0.saturating_sub(start.0);
        return ((u128::from(ticks) * u128::from(factor)) >> SCALE_SHIFT) as u64;
    }
    nanos_between_through_quanta(start, end)
}

#[inline(never)]
fn nanos_between_through_quanta(start: Instant, end: Instant) -> u64 {
    CLOCK.delta_as_nanos(start.0, end.0)
}

/// Maps raw instants to Unix nanoseconds: wall time at an anchor plus monotonic elapsed time.
#[derive(Debug)]
pub(crate) struct WallClock {
    anchor: Instant,
    anchor_unix_nanos: u64,
}

impl WallClock {
    pub(crate) fn new() -> Self {
        let anchor = Instant::now();
        let anchor_unix_nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        WallClock {
            anchor,
            anchor_unix_nanos,
        }
    }

    /// Unix nanoseconds of a raw instant.
    pub(crate) fn unix_nanos(&self, at: Instant) -> u64 {
        if at >= self.anchor {
            self.anchor_unix_nanos + nanos_between(self.anchor, at)
        } else {
            self.anchor_unix_nanos
                .saturating_sub(nanos_between(at, self.anchor))
        }
    }

    /// Unix nanoseconds now.
    pub(crate) fn now_unix_nanos(&self) -> u64 {
        self.unix_nanos(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_monotonic_and_scaled() {
        let a = Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = Instant::now();
        let d = nanos_between(a, b);
        assert!((15_000_000..2_000_000_000).contains(&d), "{d}");
        assert_eq!(nanos_between(b, a), 0, "backwards saturates at zero");
        // The hot path's fixed-point scaling agrees with quanta's to the nanosecond.
        for ticks in [1u64, 1_000, 3_000_000, 1 << 36, 1 << 50] {
            let ours = nanos_between(Instant(5), Instant(5 + ticks));
            let theirs = nanos_between_through_quanta(Instant(5), Instant(5 + ticks));
            assert!(
                ours.abs_diff(theirs) <= 1 + theirs / 10_000_000_000,
                "{ticks}: {ours} vs {theirs}"
            );
        }
        let wall = WallClock::new();
        let unix_a = wall.unix_nanos(a);
        let unix_b = wall.unix_nanos(b);
        assert!((unix_b - unix_a).abs_diff(d) <= 1, "{unix_a} {unix_b} {d}");
    }
}
