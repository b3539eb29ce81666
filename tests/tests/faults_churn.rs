//! Fault 1 (issue 9): memory under thread churn is bounded by the configuration and the
//! number of threads alive at once, whatever the thread-creation rate. Thousands of
//! short-lived threads, a few alive at a time; the heap's peak (a counting global allocator)
//! is compared with the documented bound, and every record is counted exactly once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use instrument_runtime::{instrument, Batch, ExportError, Exporter};
use instrument_tests::alloc::{self, Counting};
use instrument_tests::isolated;

#[global_allocator]
static ALLOC: Counting = Counting;

const T: Duration = Duration::from_secs(120);

/// Counts spans and keeps nothing, so the heap measures the pipeline, not the exporter.
#[derive(Debug)]
struct CountSpans(Arc<AtomicU64>);

impl Exporter for CountSpans {
    fn name(&self) -> &'static str {
        "count-spans"
    }
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        self.0
            .fetch_add(batch.spans.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

#[instrument]
fn tick(i: u64) -> u64 {
    i
}

/// The documented size of one ring slot (`Builder::ring_capacity`).
const SLOT_BYTES: usize = 72;

#[test]
fn thread_churn_memory_is_bounded_by_live_threads() {
    isolated("thread_churn_memory_is_bounded_by_live_threads", T, || {
        const CAPACITY: usize = 4096;
        const LIVE: usize = 8;
        const ROUNDS: usize = 500;
        const CALLS: u64 = 3;
        let spans = Arc::new(AtomicU64::new(0));
        let telemetry = instrument_runtime::builder()
            .exporter(CountSpans(Arc::clone(&spans)))
            .ring_capacity(CAPACITY)
            .log_bridge(false)
            .install()
            .unwrap();
        tick(0); // the main thread's ring and shard exist before the measurement
        assert!(telemetry.flush(T).completed);
        let base = alloc::live_bytes();
        alloc::reset_peak();
        for round in 0..ROUNDS {
            let threads: Vec<_> = (0..LIVE)
                .map(|t| {
                    std::thread::spawn(move || {
                        for c in 0..CALLS {
                            tick((round * LIVE + t) as u64 * CALLS + c);
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        let peak = alloc::peak_bytes().saturating_sub(base);
        let report = telemetry.flush(T);
        assert!(report.completed);
        let s = report.stats.spans;
        let threads = (ROUNDS * LIVE) as u64;
        // The documented bound (`Builder::ring_capacity`): rings <= 2 x R + 4, R the threads
        // alive at once that recorded (here the LIVE workers and the main thread), each of
        // `capacity` slots; plus 1 MiB for what is not ring memory (thread bookkeeping,
        // shards, the exporter's batch in conversion).
        let rings_bound = (2 * (LIVE + 1) + 4) * CAPACITY * SLOT_BYTES;
        let bound = rings_bound + (1 << 20);
        println!(
            "churn: {threads} threads ({LIVE} alive at once), heap peak +{} KiB, bound {} KiB \
             (rings {} KiB), VmHWM {:?} KiB",
            peak / 1024,
            bound / 1024,
            rings_bound / 1024,
            alloc::vm_hwm_bytes().map(|b| b / 1024)
        );
        assert_eq!(s.emitted, 1 + threads * CALLS, "{s:?}");
        assert_eq!(s.exported, 1 + threads * CALLS, "{s:?}");
        assert_eq!(spans.load(Ordering::Relaxed), 1 + threads * CALLS);
        assert_eq!(s.dropped_total(), 0, "{s:?}");
        assert!(s.balances(), "{s:?}");
        assert!(
            peak <= bound,
            "heap peak +{peak} B under churn exceeds the documented bound {bound} B"
        );
    });
}

#[test]
fn thread_churn_with_a_hung_exporter_stays_bounded() {
    isolated("thread_churn_with_a_hung_exporter_stays_bounded", T, || {
        use instrument_runtime::testing::{Behavior, TestExporter};
        const CAPACITY: usize = 1024;
        const LIVE: usize = 8;
        const ROUNDS: usize = 250;
        const CALLS: u64 = 50;
        let (exporter, c) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .ring_capacity(CAPACITY)
            .max_batch(64)
            .shutdown_timeout(Duration::from_millis(300))
            .log_bridge(false)
            .install()
            .unwrap();
        c.set_behavior(Behavior::Hang);
        tick(0); // the exporter takes this record and hangs on it
        std::thread::sleep(Duration::from_millis(200));
        let base = alloc::live_bytes();
        alloc::reset_peak();
        for round in 0..ROUNDS {
            let threads: Vec<_> = (0..LIVE)
                .map(|t| {
                    std::thread::spawn(move || {
                        for c in 0..CALLS {
                            tick((round * LIVE + t) as u64 * CALLS + c);
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        let peak = alloc::peak_bytes().saturating_sub(base);
        let rings_bound = (2 * (LIVE + 1) + 4) * CAPACITY * SLOT_BYTES;
        let bound = rings_bound + (1 << 20);
        println!(
            "churn, hung exporter: {} threads, heap peak +{} KiB, bound {} KiB",
            ROUNDS * LIVE,
            peak / 1024,
            bound / 1024
        );
        assert!(peak <= bound, "heap peak +{peak} B exceeds {bound} B");
        // Released: every record is accounted for, exported or dropped (the rings were full).
        c.release();
        let report = telemetry.flush(T);
        assert!(report.completed);
        let s = report.stats.spans;
        println!("after release: {s:?}");
        assert_eq!(s.emitted, 1 + (ROUNDS * LIVE) as u64 * CALLS, "{s:?}");
        assert_eq!(c.spans_named("tick").len() as u64, s.exported);
        assert!(
            s.dropped(instrument_runtime::DropReason::QueueFull) > 0,
            "{s:?}"
        );
        assert!(s.balances(), "{s:?}");
        assert_eq!(s.in_flight, 0, "{s:?}");
        assert_eq!(s.exported + s.dropped_total(), s.emitted, "{s:?}");
    });
}
