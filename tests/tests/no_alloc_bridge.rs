//! A `tracing::info!` with two small fields, through the `tracing` bridge inside one of our
//! sampled spans, allocates nothing on the calling thread after warm-up (the record is
//! encoded into a thread-local scratch and copied into the ring), with the exporter thread
//! draining concurrently. A counting global allocator counts this thread's allocations only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use instrument_runtime::export::Value;
use instrument_runtime::testing::TestExporter;
use instrument_tests::isolated;
use tracing_subscriber::layer::SubscriberExt;

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

fn events(n: u64) {
    for i in 0..n {
        tracing::info!(user = i, route = "/users", "request handled");
    }
}

#[test]
fn bridge_events_do_not_allocate() {
    isolated(
        "bridge_events_do_not_allocate",
        Duration::from_secs(60),
        || {
            let (exporter, c) = TestExporter::new();
            let telemetry = instrument_runtime::builder()
                .exporter(exporter)
                .sample_ratio(1.0)
                .ring_capacity(4096)
                .install()
                .expect("install");
            let dispatch = tracing::Dispatch::new(
                tracing_subscriber::registry().with(instrument_runtime::tracing_bridge::layer()),
            );
            tracing::dispatcher::with_default(&dispatch, || {
                let span = instrument_runtime::span("request").entered();
                let start = allocs();
                events(1_000);
                assert!(allocs() > start, "the warm-up allocates the ring (counted)");
                assert!(telemetry.flush(Duration::from_secs(10)).completed);
                let before = allocs();
                // More than the ring holds: it both drains and fills (drops are counted, never
                // allocated).
                events(100_000);
                let during = allocs() - before;
                assert_eq!(
                    during, 0,
                    "allocations per bridge event on the calling thread"
                );
                drop(span);
            });
            assert!(telemetry.flush(Duration::from_secs(10)).completed);
            let s = telemetry.stats().logs;
            assert_eq!(s.emitted, 101_000);
            assert_eq!(s.exported + s.dropped_total(), 101_000);
            assert!(s.exported >= 4_096, "{s:?}");
            let logs = c.logs();
            assert_eq!(logs.len() as u64, s.exported);
            let last = logs.last().expect("records");
            assert_eq!(last.body, "request handled");
            assert_eq!(last.attributes.len(), 2);
            assert_eq!(last.attributes[0].key, "user");
            assert_eq!(last.attributes[1].key, "route");
            assert_eq!(last.attributes[1].value, Value::from("/users"));
            drop(telemetry);
        },
    );
}
