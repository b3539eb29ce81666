//! The failures that made people distrust telemetry SDKs, each under a watchdog: flush and
//! shutdown from every context and with a hung exporter, backpressure with exact drop counts,
//! re-entrant Debug impls, exporters that log, panic or fail, and records of exited threads.

use std::fmt;
use std::time::{Duration, Instant};

use instrument_runtime::testing::{Behavior, Collected, TestExporter};
use instrument_runtime::{instrument, Batch, DropReason, ExportError, Exporter, Telemetry};
use instrument_tests::{isolated, within};

const T: Duration = Duration::from_secs(30);
const SHORT: Duration = Duration::from_millis(300);

fn install() -> (Telemetry, Collected) {
    let (exporter, collected) = TestExporter::new();
    let telemetry = instrument_runtime::builder()
        .exporter(exporter)
        .shutdown_timeout(Duration::from_secs(1))
        .install()
        .expect("install");
    (telemetry, collected)
}

#[instrument]
fn work(i: u64) -> u64 {
    log::info!("work {i}");
    i
}

#[test]
fn flush_inside_current_thread_runtime() {
    isolated("flush_inside_current_thread_runtime", T, || {
        let (telemetry, c) = install();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            work(1);
            let report = instrument_runtime::flush(Duration::from_secs(5));
            assert!(report.completed);
            assert_eq!(report.in_flight, 0);
        });
        assert_eq!(c.spans_named("work").len(), 1);
        // Shutdown (by drop) from inside the runtime too.
        rt.block_on(async move { drop(telemetry) });
        assert_eq!(c.shutdowns(), 1);
    });
}

#[test]
fn shutdown_inside_spawn_on_one_worker() {
    isolated("shutdown_inside_spawn_on_one_worker", T, || {
        let (telemetry, c) = install();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let report = rt.block_on(async move {
            tokio::spawn(async move {
                work(2);
                assert!(instrument_runtime::flush(Duration::from_secs(5)).completed);
                telemetry.shutdown()
            })
            .await
            .unwrap()
        });
        assert!(report.completed);
        assert_eq!(c.spans_named("work").len(), 1);
    });
}

#[test]
fn hung_exporter_cannot_hang_flush_or_shutdown() {
    isolated("hung_exporter_cannot_hang_flush_or_shutdown", T, || {
        let (telemetry, c) = install();
        c.set_behavior(Behavior::Hang);
        work(3);
        let started = Instant::now();
        let report = within(Duration::from_secs(10), || instrument_runtime::flush(SHORT));
        assert!(!report.completed, "the exporter is hung");
        assert!(started.elapsed() < Duration::from_secs(5));
        // The application keeps running and recording while the exporter is stuck.
        for i in 0..10_000 {
            work(i);
        }
        let started = Instant::now();
        drop(telemetry); // shutdown_timeout is 1 s
        assert!(started.elapsed() < Duration::from_secs(5));
        c.release();
    });
}

#[test]
fn backpressure_drops_are_counted_exactly() {
    isolated("backpressure_drops_are_counted_exactly", T, || {
        let (exporter, c) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .ring_capacity(64)
            .install()
            .unwrap();
        c.set_behavior(Behavior::Hang);
        std::thread::sleep(Duration::from_millis(100));
        let n = 5_000u64;
        for i in 0..n {
            work(i);
            if i % 10 == 0 {
                log::error!("important {i}");
            }
        }
        c.release();
        let report = telemetry.flush(T);
        assert!(report.completed);
        let s = report.stats;
        assert_eq!(s.spans.emitted, n);
        assert_eq!(s.logs.emitted, n + n / 10);
        assert!(s.spans.dropped(DropReason::QueueFull) > 0, "{s:?}");
        assert!(s.spans.balances(), "{s:?}");
        assert!(s.logs.balances(), "{s:?}");
        assert_eq!(s.spans.in_flight + s.logs.in_flight, 0);
        assert_eq!(
            c.spans().len() as u64,
            s.spans.exported,
            "what the exporter got is what was counted"
        );
        // Severity-aware admission: ERROR records survive pressure better than INFO ones.
        let logs = c.logs();
        let errors = logs
            .iter()
            .filter(|l| l.body.starts_with("important"))
            .count() as f64;
        let infos = logs.iter().filter(|l| l.body.starts_with("work")).count() as f64;
        assert!(
            errors / (n / 10) as f64 >= infos / n as f64,
            "errors kept {errors}/{} vs infos {infos}/{n}",
            n / 10
        );
    });
}

/// A Debug impl that logs and calls an instrumented function while being formatted.
struct Noisy(u32);

impl fmt::Debug for Noisy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        log::info!("formatting noisy {}", self.0);
        work(u64::from(self.0));
        write!(f, "Noisy({})", self.0)
    }
}

/// A Debug impl that logs itself: unbounded recursion unless the pipeline bounds it.
struct SelfLogging(u32);

impl fmt::Debug for SelfLogging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 50 {
            log::info!("{:?}", SelfLogging(self.0 + 1));
        }
        write!(f, "SelfLogging({})", self.0)
    }
}

#[instrument(fields(n = ?noisy))]
fn takes_noisy(noisy: &Noisy) {
    log::info!("got {noisy:?}");
}

#[test]
fn reentrant_debug_impls_neither_deadlock_nor_recurse() {
    isolated(
        "reentrant_debug_impls_neither_deadlock_nor_recurse",
        T,
        || {
            let (telemetry, c) = install();
            within(Duration::from_secs(10), || {
                takes_noisy(&Noisy(7));
                log::info!("{:?}", SelfLogging(0));
            });
            let report = telemetry.flush(T);
            assert!(report.completed);
            let logs = c.logs();
            assert!(logs.iter().any(|l| l.body == "got Noisy(7)"));
            assert!(logs.iter().any(|l| l.body == "formatting noisy 7"));
            assert!(c.spans_named("work").len() >= 2);
            let s = &c.spans_named("takes_noisy")[0];
            assert_eq!(s.attributes[0].value.to_string(), "Noisy(7)");
            // The self-logging chain was cut and the cut counted.
            assert!(report.stats.logs.dropped(DropReason::Reentrant) > 0);
            assert!(report.stats.logs.balances());
        },
    );
}

/// An exporter that logs, calls instrumented code and flushes from inside `export`.
struct MeddlingExporter(TestExporter);

impl Exporter for MeddlingExporter {
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        log::error!("exporting {} records", batch.records());
        work(99);
        let nested = instrument_runtime::flush(Duration::from_secs(1));
        assert!(
            !nested.completed,
            "a flush from the exporter thread returns at once"
        );
        self.0.export(batch)
    }
}

#[test]
fn exporter_records_are_not_fed_back() {
    isolated("exporter_records_are_not_fed_back", T, || {
        let (inner, c) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(MeddlingExporter(inner))
            .install()
            .unwrap();
        for i in 0..10 {
            work(i);
        }
        let report = within(Duration::from_secs(10), move || {
            let r = telemetry.flush(T);
            let again = telemetry.flush(T);
            (r, again)
        });
        assert!(report.0.completed && report.1.completed);
        assert_eq!(
            c.spans_named("work").len(),
            10,
            "work(99) on the exporter thread is not exported"
        );
        assert!(c.logs().iter().all(|l| !l.body.starts_with("exporting")));
        assert_eq!(report.1.stats.spans.emitted, 10);
    });
}

#[test]
fn panicking_and_failing_exporters_count_drops() {
    isolated("panicking_and_failing_exporters_count_drops", T, || {
        let (telemetry, c) = install();
        c.set_behavior(Behavior::Panic);
        work(1);
        let r1 = telemetry.flush(T);
        assert!(r1.completed, "the exporter thread survived the panic");
        c.set_behavior(Behavior::FailPermanent);
        work(2);
        let r2 = telemetry.flush(T);
        assert!(r2.completed);
        c.set_behavior(Behavior::Accept);
        work(3);
        let r3 = telemetry.flush(T);
        let s = r3.stats;
        assert_eq!(s.spans.emitted, 3);
        assert_eq!(s.spans.exported, 1);
        assert_eq!(s.spans.dropped(DropReason::ExporterPanic), 1);
        assert_eq!(s.spans.dropped(DropReason::ExportFailed), 1);
        assert!(s.spans.balances());
        assert_eq!(c.spans_named("work").len(), 1);
    });
}

#[test]
fn circuit_breaker_opens_and_recovers() {
    isolated("circuit_breaker_opens_and_recovers", T, || {
        let (exporter, c) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .export_interval(Duration::from_millis(10))
            .install()
            .unwrap();
        c.set_behavior(Behavior::FailRetryable);
        // Keep producing while the collector is "down": retries, then the breaker opens and
        // drains-and-drops, so the application never blocks and memory stays bounded.
        let deadline = Instant::now() + Duration::from_millis(1_500);
        let mut n = 0;
        while Instant::now() < deadline {
            work(n);
            n += 1;
            if n % 100 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
        let during = instrument_runtime::stats();
        assert!(
            during.spans.dropped(DropReason::CircuitOpen) > 0,
            "{during:?}"
        );
        // The collector comes back: export resumes by itself (cool-down is 1 s).
        c.set_behavior(Behavior::Accept);
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.spans().is_empty() && Instant::now() < deadline {
            work(n);
            n += 1;
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            !c.spans().is_empty(),
            "export resumed after the collector came back"
        );
        let r = telemetry.flush(T);
        assert!(r.completed);
        assert_eq!(r.stats.spans.emitted, n);
        assert!(r.stats.spans.balances(), "{:?}", r.stats);
        assert_eq!(r.in_flight, 0);
    });
}

#[test]
fn records_of_exited_threads_are_exported() {
    isolated("records_of_exited_threads_are_exported", T, || {
        let (telemetry, c) = install();
        let handles: Vec<_> = (0..8)
            .map(|t| {
                std::thread::spawn(move || {
                    (0..100).for_each(|i| {
                        work(t * 1000 + i);
                    })
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(telemetry.flush(T).completed);
        assert_eq!(c.spans_named("work").len(), 800);
        assert_eq!(c.call_count("work", "ok"), 800);
        // A second flush after the threads are long gone: still exact (folded shards).
        assert!(telemetry.flush(T).completed);
        assert_eq!(c.call_count("work", "ok"), 800);
    });
}

#[test]
fn hot_swap_loses_and_duplicates_nothing() {
    isolated("hot_swap_loses_and_duplicates_nothing", T, || {
        let (first, c1) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(first)
            .export_interval(Duration::from_millis(5))
            .install()
            .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let producers: Vec<_> = (0..2u64)
            .map(|t| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        work(t << 32 | i);
                        i += 1;
                        if i.is_multiple_of(64) {
                            std::thread::yield_now();
                        }
                    }
                    i
                })
            })
            .collect();
        let mut collectors = vec![c1];
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(50));
            let (next, c) = TestExporter::new();
            telemetry.set_exporter(next, T).expect("swap");
            collectors.push(c);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let made: Vec<u64> = producers.into_iter().map(|h| h.join().unwrap()).collect();
        let report = telemetry.flush(T);
        assert!(report.completed);
        let logs = report.stats.logs;
        assert_eq!(logs.emitted, made.iter().sum::<u64>());
        assert_eq!(logs.in_flight, 0);
        assert!(logs.balances(), "{logs:?}");
        let mut seen = std::collections::HashSet::new();
        for c in &collectors {
            for l in c.logs() {
                assert!(seen.insert(l.body.clone()), "exported twice: {}", l.body);
            }
        }
        // Producers outrun the exporter in debug builds, so some records are dropped at the
        // ring (counted); every record counted as exported reached exactly one exporter.
        assert_eq!(
            seen.len() as u64,
            logs.exported,
            "every exported record exactly once"
        );
        for c in &collectors[..3] {
            assert_eq!(c.shutdowns(), 1, "replaced exporters are shut down");
        }
        assert!(collectors.iter().filter(|c| !c.logs().is_empty()).count() >= 2);
    });
}

#[test]
fn invalid_environment_falls_back_to_defaults() {
    isolated("invalid_environment_falls_back_to_defaults", T, || {
        // Set in the child only (each scenario has its own process).
        std::env::set_var("OTEL_TRACES_SAMPLER", "not-a-sampler");
        std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "-5");
        std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "soon");
        std::env::set_var("OTEL_RESOURCE_ATTRIBUTES", "a=1,broken,b=x%20y");
        let (telemetry, c) = install();
        work(1);
        assert!(telemetry.flush(T).completed);
        assert_eq!(c.spans_named("work").len(), 1, "default sampler: always on");
    });
}

#[test]
fn sdk_disabled_installs_nothing() {
    isolated("sdk_disabled_installs_nothing", T, || {
        std::env::set_var("OTEL_SDK_DISABLED", "true");
        let (telemetry, c) = install();
        assert!(!telemetry.is_active());
        work(1);
        let report = telemetry.flush(Duration::from_secs(1));
        assert!(report.completed && report.in_flight == 0 && report.exported == 0);
        assert!(c.spans().is_empty());
    });
}

#[test]
fn second_init_is_refused_without_panic() {
    isolated("second_init_is_refused_without_panic", T, || {
        let (telemetry, _c) = install();
        assert!(matches!(
            instrument_runtime::builder().install(),
            Err(instrument_runtime::InitError::AlreadyInstalled)
        ));
        let inert = instrument_runtime::init();
        assert!(!inert.is_active());
        drop(inert);
        assert!(telemetry.is_active());
        // Shutdown then a new pipeline: counts carry over, nothing is re-exported.
        work(1);
        assert!(telemetry.shutdown().completed);
        let (again, c2) = install();
        work(2);
        assert!(again.flush(T).completed);
        assert_eq!(c2.spans_named("work").len(), 1);
        assert_eq!(c2.call_count("work", "ok"), 2);
    });
}
