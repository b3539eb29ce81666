//! Fault 3 (issue 9): captured values are bounded at capture time. `%` (Display), `?` (Debug)
//! and plain `&str` fields, `err` messages and log messages are formatted into a writer that
//! stops at the limit, so buffered memory is at most records x the maximum value length, and
//! a huge value costs about what the limit costs.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use instrument_runtime::{instrument, Batch, ExportError, Exporter, TRUNCATION_MARKER};
use instrument_tests::alloc::{self, Counting};
use instrument_tests::isolated;

#[global_allocator]
static ALLOC: Counting = Counting;

const T: Duration = Duration::from_secs(120);
const MAX: usize = 4096;
const MB: usize = 1 << 20;

/// A value whose Display and Debug forms are `len` bytes, written in 1 KiB pieces without
/// allocating (so only what the runtime keeps shows in the heap).
struct Huge(usize);

impl fmt::Display for Huge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PIECE: &str = concat!(
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdé",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdé"
        );
        let mut left = self.0;
        while left > 0 {
            let piece = &PIECE[..PIECE.len().min(left)];
            let piece = match piece.is_char_boundary(piece.len()) {
                true => piece,
                false => &piece[..piece.len() - 1],
            };
            f.write_str(piece)?;
            left -= piece.len();
        }
        Ok(())
    }
}

impl fmt::Debug for Huge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Keeps the longest string it saw per kind, and counts; holds nothing else.
#[derive(Debug)]
struct Lengths(Arc<[AtomicU64; 3]>);

impl Exporter for Lengths {
    fn name(&self) -> &'static str {
        "lengths"
    }
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        for s in &batch.spans {
            for kv in &s.attributes {
                let len = kv.value.to_string().len() as u64;
                self.0[0].fetch_max(len, Ordering::Relaxed);
            }
            self.0[2].fetch_add(1, Ordering::Relaxed);
        }
        for l in &batch.logs {
            self.0[1].fetch_max(l.body.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[derive(Debug)]
struct HugeError(Huge);

impl fmt::Display for HugeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[instrument(err, fields(shown = %big, debugged = ?big, text = raw))]
fn capture(big: &Huge, raw: &str) -> Result<(), HugeError> {
    log::info!("message {big}");
    Err(HugeError(Huge(big.0)))
}

#[instrument(fields(shown = %big))]
fn capture_one(big: &Huge) {}

fn install(lengths: &Arc<[AtomicU64; 3]>) -> instrument_runtime::Telemetry {
    instrument_runtime::builder()
        .exporter(Lengths(Arc::clone(lengths)))
        .max_value_len(MAX)
        // Records stay buffered while they are made: nothing is exported on a timer.
        .export_interval(Duration::from_secs(3600))
        .metrics_interval(Duration::from_secs(3600))
        .install()
        .unwrap()
}

#[test]
fn huge_values_are_bounded_at_capture() {
    isolated("huge_values_are_bounded_at_capture", T, || {
        const RECORDS: usize = 200;
        let lengths = Arc::new([const { AtomicU64::new(0) }; 3]);
        let telemetry = install(&lengths);
        let raw = "r".repeat(MB);
        let big = Huge(MB);
        capture(&Huge(10), "warm-up").unwrap_err();
        assert!(telemetry.flush(T).completed);
        let base = alloc::live_bytes();
        alloc::reset_peak();
        for _ in 0..RECORDS {
            capture(&big, &raw).unwrap_err();
        }
        let held = alloc::live_bytes().saturating_sub(base);
        let peak = alloc::peak_bytes().saturating_sub(base);
        // Per record: a span with 3 attributes and an error message, a log record and the
        // `err` log record, each value at most MAX + marker bytes; plus 1 KiB of fixed parts.
        let per_value = MAX + TRUNCATION_MARKER.len();
        let bound = RECORDS * (6 * per_value + 1024);
        println!(
            "huge values: {RECORDS} records with 1 MiB values hold {} KiB (peak {} KiB), \
             bound {} KiB",
            held / 1024,
            peak / 1024,
            bound / 1024
        );
        let report = telemetry.flush(T);
        assert!(report.completed);
        assert_eq!(lengths[2].load(Ordering::Relaxed), 1 + RECORDS as u64);
        assert!(lengths[0].load(Ordering::Relaxed) as usize <= per_value);
        assert!(lengths[1].load(Ordering::Relaxed) as usize <= per_value);
        assert!(peak <= bound, "peak +{peak} B exceeds {bound} B");
        assert!(held <= bound, "held +{held} B exceeds {bound} B");
    });
}

#[test]
fn a_huge_value_costs_about_what_the_limit_costs() {
    isolated("a_huge_value_costs_about_what_the_limit_costs", T, || {
        let lengths = Arc::new([const { AtomicU64::new(0) }; 3]);
        let telemetry = install(&lengths);
        let median = |value: &Huge| {
            let mut times: Vec<Duration> = (0..21)
                .map(|_| {
                    let started = Instant::now();
                    capture_one(value);
                    started.elapsed()
                })
                .collect();
            times.sort();
            times[times.len() / 2]
        };
        let at_limit = median(&Huge(MAX));
        let ten_mb = median(&Huge(10 * MB));
        println!("capture of a Display field: at the limit {at_limit:?}, 10 MiB {ten_mb:?}");
        assert!(telemetry.flush(T).completed);
        assert!(
            ten_mb <= at_limit * 4 + Duration::from_micros(50),
            "a 10 MiB value took {ten_mb:?}, the limit {at_limit:?}"
        );
    });
}
