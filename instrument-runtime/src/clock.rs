//! The one clock: a monotonic, TSC-based `Instant` for durations (through `minstant`, which
//! falls back to `CLOCK_MONOTONIC` where the TSC is unusable), and wall-clock timestamps for
//! export computed as `anchor + monotonic elapsed` on the exporter thread.
//!
//! Reading the TSC costs a few nanoseconds and no syscall; converting to Unix time happens off
//! the hot path. Durations use `saturating_duration_since`, so they can never be negative.

pub(crate) use minstant::Instant;

/// Maps monotonic instants to Unix nanoseconds.
pub(crate) struct WallClock {
    anchor: minstant::Anchor,
}

impl WallClock {
    pub(crate) fn new() -> Self {
        WallClock {
            anchor: minstant::Anchor::new(),
        }
    }

    /// Unix nanoseconds of a monotonic instant.
    pub(crate) fn unix_nanos(&self, at: Instant) -> u64 {
        at.as_unix_nanos(&self.anchor)
    }

    /// Unix nanoseconds now.
    pub(crate) fn now_unix_nanos(&self) -> u64 {
        self.unix_nanos(Instant::now())
    }
}

/// Nanoseconds from `start` to `end`, zero if the clock went backwards.
#[inline]
pub(crate) fn nanos_between(start: Instant, end: Instant) -> u64 {
    u64::try_from(end.saturating_duration_since(start).as_nanos()).unwrap_or(u64::MAX)
}
