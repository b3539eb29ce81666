//! The documented maxima of every size and duration a pipeline takes from the environment or
//! the [`Builder`](crate::Builder). A larger value is clamped to the maximum with one warning
//! (through [`crate::diag::warn`]) naming where it came from; it never panics, and never asks
//! the allocator for more than the maximum (an `OTEL_BSP_MAX_QUEUE_SIZE=4000000000` would
//! otherwise be a 288 GB ring per thread).
//!
//! | setting | environment | builder | maximum |
//! |---|---|---|---|
//! | ring capacity (records per thread) | `OTEL_BSP_MAX_QUEUE_SIZE` | `ring_capacity` | [`MAX_RING_CAPACITY`] (1 Mi records, 72 MiB) |
//! | records per export call | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | `max_batch` | [`MAX_BATCH`] (64 Ki) |
//! | string value / log body length | `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` | `max_value_len` | [`MAX_VALUE_LEN`] (1 MiB) |
//! | export interval | `OTEL_BSP_SCHEDULE_DELAY` | `export_interval` | [`MAX_INTERVAL`] (1 day) |
//! | metrics interval | `OTEL_METRIC_EXPORT_INTERVAL` | `metrics_interval` | [`MAX_INTERVAL`] (1 day) |
//! | shutdown deadline | `OTEL_BSP_EXPORT_TIMEOUT` | `shutdown_timeout` | [`MAX_TIMEOUT`] (1 hour) |
//!
//! A leaf: it imports only `diag`.

use std::time::Duration;

/// Largest ring capacity, in records (each slot is 72 bytes: 72 MiB per recording thread).
pub const MAX_RING_CAPACITY: usize = 1 << 20;
/// Default capacity of each thread's ring, in records (see
/// [`Builder::ring_capacity`](crate::Builder::ring_capacity) for how it is sized): 16384
/// records hold 16 ms of calls at 1 M sampled calls/s, 1.2 MB per ring (72 B a slot).
pub const DEFAULT_RING_CAPACITY: usize = 1 << 14;
/// Largest number of records per export call.
pub const MAX_BATCH: usize = 1 << 16;
/// Largest per-exporter queue, in records (what one hung exporter may hold).
pub const MAX_EXPORTER_QUEUE: usize = 1 << 22;
/// Largest string value or log body kept, in bytes.
pub const MAX_VALUE_LEN: usize = 1 << 20;
/// Longest export or metrics interval.
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest flush-and-shutdown deadline.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// `value` if it is at most `max`, else `max` with one warning naming `source` (an environment
/// variable or a builder method).
pub(crate) fn size(value: usize, max: usize, source: &str) -> usize {
    if value <= max {
        return value;
    }
    crate::diag::warn(format!(
        "{source} = {value} exceeds the maximum {max}; using {max}"
    ));
    max
}

/// Like [`size`], for a count given as `u64` (an environment value may not fit a `usize`).
pub(crate) fn size_u64(value: u64, max: usize, source: &str) -> usize {
    match usize::try_from(value) {
        Ok(v) => size(v, max, source),
        Err(_) => {
            crate::diag::warn(format!(
                "{source} = {value} exceeds the maximum {max}; using {max}"
            ));
            max
        }
    }
}

/// `value` if it is at most `max`, else `max` with one warning naming `source`.
pub(crate) fn duration(value: Duration, max: Duration, source: &str) -> Duration {
    if value <= max {
        return value;
    }
    crate::diag::warn(format!(
        "{source} = {value:?} exceeds the maximum {max:?}; using {max:?}"
    ));
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_only_above_the_maximum() {
        assert_eq!(size(10, 100, "t"), 10);
        assert_eq!(size(101, 100, "t"), 100);
        assert_eq!(size_u64(u64::MAX, 100, "t"), 100);
        assert_eq!(duration(Duration::MAX, MAX_INTERVAL, "t"), MAX_INTERVAL);
        assert_eq!(
            duration(Duration::from_secs(1), MAX_INTERVAL, "t"),
            Duration::from_secs(1)
        );
    }
}
