//! The exporter side: CPU time of the exporting thread per delivered record, and the share of
//! records delivered vs dropped, under sustained load, with a discarding exporter.
//!
//! `exporter_cpu [--bench] <ours|ours3|ours-labels|otel|tracing-otel|fastrace> [seconds]`: one
//! configuration per process (each installs process-global state). `ours` has one discarding
//! exporter, `ours3` three (each its own sink: queue, worker thread, accounting), `ours-labels`
//! one that reads every span attribute (labels included), with a function carrying two labels;
//! for all of them the exporting CPU is the drain thread's plus every sink worker's, per record
//! delivered to every exporter. Two loads, one after the other:
//! - `saturating`: one application thread calls the instrumented function as fast as it can;
//! - `paced`: one application thread makes 1,000 calls per millisecond (1 M/s), spinning in
//!   between, so the exporter is not starved of records nor of CPU.
//!
//! The exporting thread is found by name in `/proc/self/task/*/comm` and its CPU time read
//! from its per-thread CPU clock (see `instrument_benches::procfs`). Without `--bench` (as
//! under `cargo test --benches`) it runs for 0.1 s per load, as a smoke test.

mod common;

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::peers;
use instrument_benches::procfs;

#[instrument_runtime::instrument]
#[inline(never)]
fn ours(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[derive(instrument_runtime::Label, Clone, Copy)]
enum Method {
    Get,
    Post,
}

#[derive(instrument_runtime::Label, Clone, Copy)]
enum Region {
    Eu,
    Us,
}

/// Two labels (four series), decoded into span attributes on the exporter thread.
#[instrument_runtime::instrument(labels(
    method = if x & 1 == 0 { Method::Get } else { Method::Post },
    region = if x & 2 == 0 { Region::Eu } else { Region::Us },
))]
#[inline(never)]
fn ours_labels(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[tracing::instrument(skip_all)]
#[inline(never)]
fn tracing_otel(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[fastrace::trace]
#[inline(never)]
fn fastrace_trace(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

/// A discarding exporter that reads every attribute of every span (labels included, through
/// `SpanData::all_attributes`), so the labelled configuration's exporter CPU includes what
/// turning the call's labels into attributes costs. Named "noop" like `NoopExporter` (same
/// thread name, same accounting).
struct ReadAttributes;

impl instrument_runtime::Exporter for ReadAttributes {
    fn name(&self) -> &'static str {
        "noop"
    }
    fn export(
        &mut self,
        batch: &instrument_runtime::export::Batch,
    ) -> Result<(), instrument_runtime::export::ExportError> {
        let mut bytes = 0usize;
        for span in &batch.spans {
            for kv in span.all_attributes() {
                bytes += kv.key.len();
                if let instrument_runtime::export::Value::Str(v) = &kv.value {
                    bytes += v.len();
                }
            }
        }
        black_box(bytes);
        Ok(())
    }
}

/// One configuration: how to call, which thread exports, and its accounting.
struct Config {
    call: fn(u64) -> u64,
    /// Calls per "request" (fastrace: children of one root); 0: no root.
    per_root: u64,
    thread: &'static str,
    flush: fn(),
    /// `(delivered, dropped)` so far (after `flush`).
    counts: fn(calls: u64) -> (u64, u64),
    /// `true` when `flush` returns only once everything made before it was delivered or
    /// dropped (ours, the OpenTelemetry batch processor's `force_flush`).
    flush_is_complete: bool,
}

/// Records delivered to every exporter, and dropped for any (the exporters are identical, so
/// the first one's figures).
fn ours_counts(_calls: u64) -> (u64, u64) {
    let stats = instrument_runtime::stats();
    let s = stats.exporters.first().map(|e| e.spans).unwrap_or_default();
    (s.exported, s.dropped_total())
}

/// Spans dropped so far for the first exporter, per reason (ours only; empty for the peers).
fn ours_drops(mode: &str) -> Vec<(instrument_runtime::DropReason, u64)> {
    if !mode.starts_with("ours") {
        return Vec::new();
    }
    let stats = instrument_runtime::stats();
    let s = stats.exporters.first().map(|e| e.spans).unwrap_or_default();
    instrument_runtime::DropReason::ALL
        .iter()
        .map(|&r| (r, s.dropped(r)))
        .collect()
}

fn otel_counts(calls: u64) -> (u64, u64) {
    let delivered = peers::OTEL_DELIVERED.load(Ordering::Relaxed);
    (delivered, calls.saturating_sub(delivered))
}

fn fastrace_counts(calls: u64) -> (u64, u64) {
    let delivered = peers::FASTRACE_DELIVERED.load(Ordering::Relaxed);
    (delivered, calls.saturating_sub(delivered))
}

fn setup(mode: &str) -> (Config, Option<instrument_runtime::Telemetry>) {
    match mode {
        "ours" | "ours3" | "ours-labels" => {
            let sinks = if mode == "ours3" { 3 } else { 1 };
            let mut builder = instrument_runtime::builder()
                .service_name("bench")
                .sample_ratio(1.0);
            for _ in 0..sinks {
                builder = if mode == "ours-labels" {
                    builder.exporter(ReadAttributes)
                } else {
                    builder.exporter(instrument_runtime::NoopExporter)
                };
            }
            let telemetry = builder.install().expect("install the pipeline");
            let config = Config {
                call: if mode == "ours-labels" {
                    ours_labels
                } else {
                    ours
                },
                per_root: 0,
                // The drain thread ("instrument-exporter") and each sink's worker
                // ("instrument-sink-noop"); names are cut at 15 bytes by the kernel.
                thread: "instrument-",
                flush: || {
                    let r = instrument_runtime::flush(Duration::from_secs(30));
                    assert!(r.completed, "flush timed out");
                },
                counts: ours_counts,
                flush_is_complete: true,
            };
            (config, Some(telemetry))
        }
        "otel" => {
            peers::otel();
            let config = Config {
                call: peers::otel_in_span,
                per_root: 0,
                thread: peers::OTEL_BSP_THREAD,
                flush: || {
                    let _ = peers::otel().0.force_flush();
                },
                counts: otel_counts,
                flush_is_complete: true,
            };
            (config, None)
        }
        "tracing-otel" => {
            use tracing_subscriber::layer::SubscriberExt;
            let layer = tracing_opentelemetry::layer().with_tracer(peers::otel().1.clone());
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
                .expect("first global subscriber");
            let config = Config {
                call: tracing_otel,
                per_root: 0,
                thread: peers::OTEL_BSP_THREAD,
                flush: || {
                    let _ = peers::otel().0.force_flush();
                },
                counts: otel_counts,
                flush_is_complete: true,
            };
            (config, None)
        }
        "fastrace" => {
            fastrace::set_reporter(
                peers::DiscardReporter,
                fastrace::collector::Config::default(),
            );
            let config = Config {
                call: fastrace_trace,
                per_root: 1000,
                thread: "fastrace-global-collector",
                flush: fastrace::flush,
                counts: fastrace_counts,
                flush_is_complete: false,
            };
            (config, None)
        }
        other => panic!("unknown configuration {other:?}: ours, otel, tracing-otel or fastrace"),
    }
}

/// Runs `n` calls (inside a fastrace root when the configuration needs one).
fn calls(config: &Config, n: u64) {
    if config.per_root > 0 {
        let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
        let _guard = root.set_local_parent();
        for i in 0..n {
            black_box((config.call)(black_box(i)));
        }
    } else {
        for i in 0..n {
            black_box((config.call)(black_box(i)));
        }
    }
}

fn per_ms() -> u64 {
    std::env::var("INSTRUMENT_BENCH_PER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
        .max(1)
}

/// Flushes, then waits until every call's record is delivered, or the delivered count has
/// not moved for 2 s (whatever was dropped), at most 60 s: fastrace's flush hands the spans to
/// its collector thread and returns before they are reported.
fn settle(config: &Config, calls: u64) {
    (config.flush)();
    if config.flush_is_complete {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (config.counts)(calls).0;
    let mut still_since = Instant::now();
    while Instant::now() < deadline && last < calls {
        std::thread::sleep(Duration::from_millis(50));
        // fastrace sends a thread's spans to its collector when the thread makes more (its
        // queue to the collector is bounded and the rest waits on the thread): an empty root
        // span (not counted as a call) pushes them along.
        drop(fastrace::Span::root(
            "root",
            fastrace::collector::SpanContext::random(),
        ));
        (config.flush)();
        let now = (config.counts)(calls).0;
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= Duration::from_secs(2) {
            return;
        }
    }
}

/// Drives the load for `secs`; returns the calls made.
fn load(config: &Config, paced: bool, secs: f64) -> u64 {
    let batch = if config.per_root > 0 {
        config.per_root
    } else {
        1000
    };
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let mut made = 0u64;
    let mut next = start;
    while Instant::now() < end {
        calls(config, batch);
        made += batch;
        if paced {
            // `PER_MS` calls per millisecond (1000 unless INSTRUMENT_BENCH_PER_MS says).
            next += Duration::from_nanos(batch * 1_000_000 / per_ms());
            while Instant::now() < next {
                std::hint::spin_loop();
            }
        }
    }
    made
}

/// Calls per thread per burst (`bursts`): a quarter of the default ring, so no record is
/// refused and no half-full wake happens inside a burst; the flush after it drains them.
const BURST: u64 = 4096;

/// `threads` calling threads make `BURST` calls each at the same time (released by a barrier),
/// then the records are flushed, for `secs`. Returns `(calls, CPU ns of every thread of the
/// process)`: callers, drain thread and sink workers, per delivered call.
fn bursts(config: &Config, threads: usize, secs: f64) -> (u64, u64) {
    use std::sync::atomic::AtomicBool;
    use std::sync::Barrier;
    let start = std::sync::Arc::new(Barrier::new(threads + 1));
    let done = std::sync::Arc::new(Barrier::new(threads + 1));
    let stop = AtomicBool::new(false);
    let mut rounds = 0u64;
    let mut cpu = 0u64;
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (start, done, stop) = (&start, &done, &stop);
            s.spawn(move || loop {
                start.wait();
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                calls(config, BURST);
                done.wait();
            });
        }
        // The workers' rings and shards exist before the measurement.
        start.wait();
        done.wait();
        (config.flush)();
        let cpu0 = procfs::process_cpu_ns();
        let end = Instant::now() + Duration::from_secs_f64(secs);
        while Instant::now() < end {
            start.wait();
            done.wait();
            (config.flush)();
            rounds += 1;
        }
        cpu = procfs::process_cpu_ns() - cpu0;
        stop.store(true, Ordering::Relaxed);
        start.wait();
    });
    (rounds * BURST * threads as u64, cpu)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let benching = std::env::args().any(|a| a == "--bench");
    let mode = args.first().map_or("ours", String::as_str).to_owned();
    let secs: f64 = match args.get(1) {
        Some(s) => s.parse().expect("seconds"),
        None if benching => 3.0,
        None => 0.1,
    };
    let (config, telemetry) = setup(&mode);

    // Warm up: starts the exporting thread, registers rings and callsites.
    let mut total_calls = load(&config, false, 0.2);
    settle(&config, total_calls);
    let tids = procfs::threads_named(config.thread);
    assert!(
        !tids.is_empty(),
        "no thread named {:?} in this process",
        config.thread
    );
    let cpu = || -> u64 { tids.iter().filter_map(|&t| procfs::thread_cpu_ns(t)).sum() };

    for (name, paced) in [("saturating", false), ("paced_1M_per_s", true)] {
        let (delivered0, dropped0) = (config.counts)(total_calls);
        let drops0 = ours_drops(&mode);
        let cpu0 = cpu();
        let drain_tid = (mode.starts_with("ours"))
            .then(|| procfs::threads_named("instrument-expo").first().copied())
            .flatten();
        let drain_cpu0 = drain_tid.and_then(procfs::thread_cpu_ns).unwrap_or(0);
        let switches0: u64 = tids
            .iter()
            .filter_map(|&t| procfs::thread_switches(t))
            .sum();
        let app0 = procfs::current_thread_cpu_ns();
        let started = Instant::now();
        let made = load(&config, paced, secs);
        let wall = started.elapsed();
        settle(&config, total_calls + made);
        total_calls += made;
        let app = procfs::current_thread_cpu_ns() - app0;
        let exporter = cpu() - cpu0;
        let switches = tids
            .iter()
            .filter_map(|&t| procfs::thread_switches(t))
            .sum::<u64>()
            - switches0;
        let (delivered1, dropped1) = (config.counts)(total_calls);
        let delivered = delivered1 - delivered0;
        let dropped = dropped1.saturating_sub(dropped0);
        let id = format!("exporter/{mode}/{name}");
        for ((reason, before), (_, after)) in drops0.iter().zip(ours_drops(&mode)) {
            if after > *before {
                common::side(&id, &format!("dropped_{}", reason.as_str()), after - before);
            }
        }
        common::side(&id, "calls", made);
        common::side(&id, "delivered", delivered);
        common::side(&id, "dropped", dropped);
        common::side(
            &id,
            "delivered_pct",
            format!("{:.2}", 100.0 * delivered as f64 / made.max(1) as f64),
        );
        common::side(
            &id,
            "exporter_cpu_ms",
            format!("{:.1}", exporter as f64 / 1e6),
        );
        common::side(
            &id,
            "exporter_ns_per_delivered",
            format!("{:.1}", exporter as f64 / delivered.max(1) as f64),
        );
        common::side(
            &id,
            "app_wall_ns_per_call",
            format!("{:.1}", wall.as_nanos() as f64 / made.max(1) as f64),
        );
        common::side(&id, "app_cpu_ms", format!("{:.1}", app as f64 / 1e6));
        common::side(&id, "exporter_threads", tids.len());
        if let Some(drain) = drain_tid {
            common::side(
                &id,
                "drain_thread_cpu_ms",
                format!(
                    "{:.1}",
                    (procfs::thread_cpu_ns(drain).unwrap_or(0) - drain_cpu0) as f64 / 1e6
                ),
            );
        }
        common::side(
            &id,
            "exporter_wakeups_per_s",
            format!("{:.0}", switches as f64 / wall.as_secs_f64()),
        );
    }
    if mode == "ours" {
        // CPU per call of every thread (callers + exporter), 1 then 2 calling threads.
        for threads in [1usize, 2] {
            let (delivered0, _) = (config.counts)(total_calls);
            let (made, cpu) = bursts(&config, threads, secs);
            total_calls += made + BURST * threads as u64;
            let (delivered1, _) = (config.counts)(total_calls);
            let id = format!("exporter/{mode}/bursts_{threads}t");
            common::side(&id, "calls", made);
            common::side(
                &id,
                "delivered",
                (delivered1 - delivered0).saturating_sub(BURST * threads as u64),
            );
            common::side(
                &id,
                "all_threads_cpu_ns_per_call",
                format!("{:.1}", cpu as f64 / made.max(1) as f64),
            );
        }
    }
    if let Some(t) = telemetry {
        let stats = t.stats();
        common::side(&format!("exporter/{mode}"), "sinks", stats.exporters.len());
        let s = stats.exporters.first().map(|e| e.spans).unwrap_or_default();
        for reason in instrument_runtime::DropReason::ALL {
            if s.dropped(reason) > 0 {
                common::side(
                    &format!("exporter/{mode}"),
                    &format!("dropped_{}", reason.as_str()),
                    s.dropped(reason),
                );
            }
        }
        drop(t);
    }
    if mode.contains("otel") {
        let _ = peers::otel().0.shutdown();
    }
}
