//! Peak memory of instrument-runtime under a burst of 10 million sampled calls, against the
//! bound the configuration sets: threads x ring capacity x record size (<= 72 bytes), plus the
//! sink's queue behind the drain thread (its documented default bound, in `SpanData`s) and the
//! drain thread's pending batch.
//!
//! `memory_burst [--bench] [ring_capacity] [calls]` (defaults 4096 and 10,000,000). It resets
//! the peak (`VmHWM`, via `/proc/self/clear_refs`) after the pipeline is installed and warm,
//! then makes the burst on 1 thread, then again split over 2 new threads, reading `VmHWM`
//! after each. Without `--bench` it makes 100,000 calls, as a smoke test.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use instrument_benches::procfs;

/// Upper bound of one ring entry (the runtime's own test checks `size_of::<Record>() <= 72`).
const RECORD_BYTES: u64 = 72;

#[instrument_runtime::instrument]
#[inline(never)]
fn ours(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

fn burst(calls: u64) {
    for i in 0..calls {
        black_box(ours(black_box(i)));
    }
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let ring = args.first().copied().unwrap_or(4096);
    let calls = args
        .get(1)
        .copied()
        .unwrap_or(if benching { 10_000_000 } else { 100_000 });

    let rss_before_install = procfs::vm_rss_kib().unwrap_or(0);
    let telemetry = instrument_runtime::builder()
        .service_name("bench")
        .exporter(instrument_runtime::NoopExporter)
        .sample_ratio(1.0)
        .ring_capacity(ring as usize)
        .install()
        .expect("install the pipeline");
    // Warm: the main thread's ring and shards exist, the exporter has run a cycle.
    burst(1000);
    let _ = telemetry.flush(Duration::from_secs(10));

    for threads in [1u64, 2] {
        let reset = procfs::reset_hwm();
        let base = procfs::vm_rss_kib().unwrap_or(0);
        let started = Instant::now();
        if threads == 1 {
            burst(calls);
        } else {
            let handles: Vec<_> = (0..threads)
                .map(|_| std::thread::spawn(move || burst(calls / threads)))
                .collect();
            for h in handles {
                h.join().expect("burst thread");
            }
        }
        let took = started.elapsed();
        let report = telemetry.flush(Duration::from_secs(30));
        let hwm = procfs::vm_hwm_kib().unwrap_or(0);
        // The rings of the threads making the burst (the 2-thread burst uses new threads; the
        // main thread's ring is already counted in `base`).
        let rings_kib = threads * ring * RECORD_BYTES / 1024;
        // The sink's queue behind the drain thread, as `Builder::exporter_queue` documents
        // its default: 16384 records, or what all registered rings hold together if that is
        // more (the main thread's ring plus the burst threads'), at most `MAX_EXPORTER_QUEUE`;
        // plus the drain thread's pending batch (`max_batch`, 512). A queued span of this
        // bench owns no heap (no attributes), so it costs `size_of::<SpanData>()`.
        let registered = if threads == 1 { 1 } else { 1 + threads };
        let queue_records = 16_384u64
            .max(ring * registered)
            .min(instrument_runtime::MAX_EXPORTER_QUEUE as u64)
            + 512;
        let span_bytes = std::mem::size_of::<instrument_runtime::export::SpanData>() as u64;
        let queue_kib = queue_records * span_bytes / 1024;
        let id = format!("memory/ring{ring}/{threads}t");
        common::side(&id, "calls", calls);
        common::side(&id, "hwm_reset", reset);
        common::side(&id, "rss_before_install_kib", rss_before_install);
        common::side(&id, "rss_before_burst_kib", base);
        common::side(&id, "peak_kib", hwm);
        common::side(&id, "peak_growth_kib", hwm.saturating_sub(base));
        common::side(&id, "ring_bound_kib", rings_kib);
        common::side(&id, "queue_bound_kib", queue_kib);
        common::side(&id, "queued_span_bytes", span_bytes);
        common::side(&id, "burst_ms", took.as_millis());
        let s = report.stats.spans;
        common::side(&id, "total_emitted", s.emitted);
        common::side(&id, "total_exported", s.exported);
        common::side(&id, "total_dropped", s.dropped_total());
    }
    drop(telemetry);
}
