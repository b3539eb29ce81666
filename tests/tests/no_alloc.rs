//! No allocation per call after warm-up, on the calling thread: sampled, unsampled (ratio 0),
//! labelled, nested, and disabled by the filter. A counting global allocator counts this
//! thread's allocations only (the exporter thread allocates the batches it converts).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use instrument_runtime::{instrument, Label, NoopExporter};
use instrument_tests::isolated;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a const-initialised thread-local
// `Cell` without destructor, so counting never allocates nor re-enters.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

#[derive(Label, Clone, Copy)]
enum Kind {
    A,
    B,
}

#[instrument]
fn leaf(x: u64) -> u64 {
    x.wrapping_mul(3)
}

#[instrument(labels(kind = if x & 1 == 0 { Kind::A } else { Kind::B }))]
fn labelled(x: u64) -> u64 {
    leaf(x)
}

mod off {
    #[instrument_runtime::instrument]
    pub fn disabled(x: u64) -> u64 {
        x + 1
    }
}

fn calls(n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        acc = acc
            .wrapping_add(leaf(i))
            .wrapping_add(labelled(i))
            .wrapping_add(off::disabled(i));
    }
    acc
}

fn check(ratio: f64) {
    let telemetry = instrument_runtime::builder()
        .exporter(NoopExporter)
        .sample_ratio(ratio)
        .filter("info,no_alloc::off=off".parse().unwrap())
        .install()
        .expect("install");
    // Warm-up: the ring, the metric shards and their series cells are made on first use (so
    // the counter is seen to count).
    let start = allocs();
    std::hint::black_box(calls(1_000));
    assert!(
        allocs() > start,
        "the warm-up allocates the ring and the shards"
    );
    assert!(telemetry.flush(Duration::from_secs(10)).completed);
    let before = allocs();
    // 3 x 100,000 calls: more than the ring holds, so the ring both drains and fills (drops
    // are counted, never allocated).
    std::hint::black_box(calls(100_000));
    let during = allocs() - before;
    assert_eq!(
        during, 0,
        "allocations on the calling thread at ratio {ratio}"
    );
    drop(telemetry);
}

#[test]
fn sampled_calls_do_not_allocate() {
    isolated(
        "sampled_calls_do_not_allocate",
        Duration::from_secs(60),
        || check(1.0),
    );
}

#[test]
fn unsampled_calls_do_not_allocate() {
    isolated(
        "unsampled_calls_do_not_allocate",
        Duration::from_secs(60),
        || check(0.0),
    );
}

#[test]
fn partly_sampled_calls_do_not_allocate() {
    isolated(
        "partly_sampled_calls_do_not_allocate",
        Duration::from_secs(60),
        || check(0.1),
    );
}
