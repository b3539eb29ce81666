//! The hot path allocates nothing for an unsampled call, and nothing per call after warm-up
//! for a sampled one (a counting global allocator, counted on the calling thread only).

use std::time::Duration;

use instrument_runtime::{instrument, NoopExporter};
use instrument_tests::alloc::{self, Counting};
use instrument_tests::isolated;

#[global_allocator]
static ALLOC: Counting = Counting;

const T: Duration = Duration::from_secs(60);
const CALLS: u64 = 10_000;

#[instrument]
fn hot(i: u64) -> u64 {
    i.wrapping_mul(3)
}

fn allocations_per_run(ratio: f64) -> u64 {
    let telemetry = instrument_runtime::builder()
        .exporter(NoopExporter)
        .sample_ratio(ratio)
        .log_bridge(false)
        .install()
        .unwrap();
    for i in 0..1_000 {
        std::hint::black_box(hot(i)); // warm-up: ring, shard, series cell
    }
    assert!(telemetry.flush(T).completed);
    let before = alloc::thread_allocations();
    for i in 0..CALLS {
        std::hint::black_box(hot(i));
    }
    let made = alloc::thread_allocations() - before;
    assert!(telemetry.shutdown_with_timeout(T).completed);
    made
}

#[test]
fn hot_path_allocates_nothing() {
    isolated("hot_path_allocates_nothing", T, || {
        let unsampled = allocations_per_run(0.0);
        let sampled = allocations_per_run(1.0);
        println!("allocations in {CALLS} calls: unsampled {unsampled}, sampled {sampled}");
        assert_eq!(unsampled, 0);
        assert_eq!(sampled, 0);
    });
}
