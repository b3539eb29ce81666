//! Fault 2 (issue 9): a call that ends after its thread's thread-local state is destroyed (an
//! instrumented function called from another thread-local's destructor) still lands in the
//! metrics, exactly.

use std::cell::RefCell;
use std::time::Duration;

use instrument_runtime::testing::TestExporter;
use instrument_runtime::{instrument, DropReason};
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(60);
const THREADS: u64 = 100;
const PER_PHASE: u64 = 11;

#[instrument]
fn teardown_call(i: u64) -> u64 {
    i
}

/// Calls the instrumented function from its destructor: registered before the runtime's
/// thread-local (first touched earlier), it is destroyed after it.
struct CallsOnDrop;

impl Drop for CallsOnDrop {
    fn drop(&mut self) {
        for i in 0..PER_PHASE {
            teardown_call(i);
        }
    }
}

thread_local! {
    static GUARD: RefCell<Option<CallsOnDrop>> = const { RefCell::new(None) };
}

#[test]
fn calls_during_thread_teardown_are_counted() {
    isolated("calls_during_thread_teardown_are_counted", T, || {
        let (exporter, c) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .log_bridge(false)
            .install()
            .unwrap();
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                std::thread::spawn(|| {
                    GUARD.with(|g| *g.borrow_mut() = Some(CallsOnDrop));
                    for i in 0..PER_PHASE {
                        teardown_call(i);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let report = telemetry.flush(T);
        assert!(report.completed);
        let calls = c.call_count("teardown_call", "ok");
        let total = THREADS * PER_PHASE * 2;
        println!("teardown: function_calls_total {calls} of {total} calls");
        assert_eq!(calls, total, "every call is in the metrics");
        let s = report.stats.spans;
        // Spans of calls made after the ring was torn down cannot be buffered: counted.
        assert_eq!(
            s.exported + s.dropped(DropReason::ThreadExit),
            total,
            "{s:?}"
        );
        assert!(s.balances(), "{s:?}");
        assert_eq!(c.spans_named("teardown_call").len() as u64, s.exported);
    });
}
