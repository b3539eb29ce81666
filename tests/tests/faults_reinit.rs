//! Fault 4 (issue 9): re-initialising after a hung pipeline. The first pipeline's exporter
//! hangs holding a batch; its shutdown times out. Threads that registered with it keep
//! recording; a new pipeline must export their records and count their calls, and the batch
//! the hung exporter holds must be counted (dropped, reason `ShutdownTimeout`), never gone.

use std::sync::mpsc;
use std::time::Duration;

use instrument_runtime::testing::{Behavior, TestExporter};
use instrument_runtime::{instrument, DropReason};
use instrument_tests::{isolated, within};

const T: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_millis(300);

#[instrument]
fn step(i: u64) -> u64 {
    i
}

#[test]
fn reinit_after_a_hung_pipeline_adopts_every_thread() {
    isolated(
        "reinit_after_a_hung_pipeline_adopts_every_thread",
        T,
        || {
            const WORKERS: usize = 2;
            const BEFORE: u64 = 100; // per worker, while the first pipeline runs
            const AFTER: u64 = 500; // per worker, after re-init
            const MAIN: u64 = 1000; // main thread, after re-init
            let (first, hung) = TestExporter::new();
            let telemetry = instrument_runtime::builder()
                .exporter(first)
                .export_interval(Duration::from_secs(3600))
                .metrics_interval(Duration::from_secs(3600))
                .shutdown_timeout(SHORT)
                .log_bridge(false)
                .install()
                .unwrap();
            hung.set_behavior(Behavior::Hang);
            // Long-lived workers: record, then wait for the go-ahead, record again.
            let mut go = Vec::new();
            let mut done = Vec::new();
            let mut joins = Vec::new();
            for _ in 0..WORKERS {
                let (go_tx, go_rx) = mpsc::channel::<()>();
                let (done_tx, done_rx) = mpsc::channel::<()>();
                joins.push(std::thread::spawn(move || {
                    for i in 0..BEFORE {
                        step(i);
                    }
                    done_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                    for i in 0..AFTER {
                        step(i);
                    }
                    done_tx.send(()).unwrap();
                    go_rx.recv().unwrap(); // stay alive until the end
                }));
                go.push(go_tx);
                done.push(done_rx);
            }
            for d in &done {
                d.recv().unwrap();
            }
            // The flush drains both rings into one batch, and the exporter hangs on it.
            let report = within(T, || instrument_runtime::flush(SHORT));
            assert!(!report.completed, "the exporter is hung");
            let report = within(T, move || telemetry.shutdown_with_timeout(SHORT));
            assert!(!report.completed, "the shutdown times out");

            let (second, c) = TestExporter::new();
            let telemetry = instrument_runtime::builder()
                .exporter(second)
                .log_bridge(false)
                .install()
                .expect("a new pipeline after a timed-out shutdown");
            for g in &go {
                g.send(()).unwrap();
            }
            for d in &done {
                d.recv().unwrap();
            }
            for i in 0..MAIN {
                step(i);
            }
            let report = telemetry.flush(T);
            assert!(report.completed);
            let s = report.stats.spans;
            let workers = WORKERS as u64;
            let from_workers = c.spans().len() as u64 - MAIN;
            println!(
                "re-init: new pipeline exported {} spans ({from_workers} of {} from threads \
             registered before), calls counted {}, held by the hung exporter: {} dropped \
             ({:?})",
                c.spans().len(),
                workers * AFTER,
                c.call_count("step", "ok"),
                s.dropped(DropReason::ShutdownTimeout),
                s
            );
            assert_eq!(c.spans_named("step").len() as u64, workers * AFTER + MAIN);
            assert_eq!(
                c.call_count("step", "ok"),
                workers * (BEFORE + AFTER) + MAIN,
                "every call, before and after re-init"
            );
            assert_eq!(s.emitted, workers * (BEFORE + AFTER) + MAIN, "{s:?}");
            assert_eq!(s.exported, workers * AFTER + MAIN, "{s:?}");
            assert_eq!(
                s.dropped(DropReason::ShutdownTimeout),
                workers * BEFORE,
                "{s:?}"
            );
            assert_eq!(s.dropped_total(), workers * BEFORE, "{s:?}");
            assert_eq!(s.in_flight, 0, "{s:?}");
            assert!(s.balances(), "{s:?}");

            // The hung exporter finally returns: nothing is counted twice.
            hung.release();
            std::thread::sleep(Duration::from_millis(300));
            let report = telemetry.flush(T);
            assert!(report.completed);
            assert_eq!(
                report.stats.spans, s,
                "a late answer of the old exporter changes nothing"
            );
            for g in &go {
                g.send(()).unwrap();
            }
            for j in joins {
                j.join().unwrap();
            }
        },
    );
}
