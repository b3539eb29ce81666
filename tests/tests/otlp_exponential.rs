//! Exponential histograms against the real receiver: with the option on, every call arrives in
//! an OTLP `ExponentialHistogram` point with the exact count, each call's latency inside the
//! bounds of the bucket it is counted in, wide ranges downscaled to fit 160 buckets, delta
//! points summing to the calls, and the option chosen by
//! `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION` (an invalid value falls back to
//! explicit buckets).

mod otlp_support;

use std::time::Duration;

use instrument_runtime::export::otlp::{OtlpExporter, Protocol, Temporality};
use instrument_runtime::instrument;
use instrument_tests::{isolated, within};
use otlp_support::{receiver_python, requests, resource_attribute, Receiver};
use serde_json::Value as Json;

const METRIC: &str = "function_calls_duration_seconds";

#[instrument]
fn sleeps(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[instrument]
fn sleeps_once_a() {
    std::thread::sleep(Duration::from_millis(1));
}

#[instrument]
fn sleeps_once_b() {
    std::thread::sleep(Duration::from_millis(7));
}

#[instrument]
fn sleeps_once_c() {
    std::thread::sleep(Duration::from_millis(40));
}

#[instrument]
fn wide(slow: bool) -> u64 {
    if slow {
        std::thread::sleep(Duration::from_millis(300));
    }
    std::hint::black_box(3)
}

#[instrument]
fn fork_calls() -> u64 {
    std::hint::black_box(5)
}

#[instrument]
fn delta_calls(i: u64) -> u64 {
    i.wrapping_mul(31)
}

fn num(v: &Json) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// One exponential point as decoded by the receiver.
#[derive(Debug, Clone)]
struct Point {
    temporality: String,
    count: u64,
    sum: f64,
    scale: i32,
    zero: u64,
    offset: i32,
    buckets: Vec<u64>,
    exemplars: usize,
}

/// Every `(function, point)` of the latency metric, in the order received; `explicit` counts
/// the explicit-bucket points seen for `function`s in `of`.
fn points(lines: &[Json], of: &[&str]) -> (Vec<(String, Point)>, usize) {
    let mut out = Vec::new();
    let mut explicit = 0;
    for line in requests(lines, "metrics") {
        let metrics = line["request"]["resourceMetrics"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|rm| rm["scopeMetrics"].as_array().into_iter().flatten())
            .flat_map(|sm| sm["metrics"].as_array().into_iter().flatten())
            .filter(|m| m["name"] == METRIC);
        for m in metrics {
            let function = |p: &Json| {
                p["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|kv| kv["key"] == "function")
                    .and_then(|kv| kv["value"]["stringValue"].as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            for p in m["histogram"]["dataPoints"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if of.contains(&function(p).as_str()) {
                    explicit += 1;
                }
            }
            let h = &m["exponentialHistogram"];
            let temporality = h["aggregationTemporality"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            for p in h["dataPoints"].as_array().into_iter().flatten() {
                let f = function(p);
                if !of.contains(&f.as_str()) {
                    continue;
                }
                out.push((
                    f,
                    Point {
                        temporality: temporality.clone(),
                        count: num(&p["count"]) as u64,
                        sum: p["sum"].as_f64().unwrap_or(f64::NAN),
                        scale: num(&p["scale"]) as i32,
                        zero: num(&p["zeroCount"]) as u64,
                        offset: num(&p["positive"]["offset"]) as i32,
                        buckets: p["positive"]["bucketCounts"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|c| num(c) as u64)
                            .collect(),
                        exemplars: p["exemplars"].as_array().map_or(0, Vec::len),
                    },
                ));
            }
        }
    }
    (out, explicit)
}

/// The last point of `function` (cumulative: the totals).
fn last<'a>(points: &'a [(String, Point)], function: &str) -> &'a Point {
    &points
        .iter()
        .rev()
        .find(|(f, _)| f == function)
        .unwrap_or_else(|| panic!("no exponential point for {function}: {points:?}"))
        .1
}

/// `(lower, upper]` of bucket `index` at `scale`.
fn bounds(scale: i32, index: i32) -> (f64, f64) {
    let base = 2f64.powf(2f64.powi(-scale));
    (base.powi(index), base.powi(index + 1))
}

fn exporter(receiver: &Receiver, protocol: Protocol, temporality: Temporality) -> OtlpExporter {
    OtlpExporter::builder()
        .endpoint(receiver.endpoint(protocol))
        .protocol(protocol)
        .temporality(temporality)
        .build()
        .unwrap()
}

#[test]
fn every_call_is_in_a_bucket_whose_bounds_contain_its_latency() {
    isolated(
        "every_call_is_in_a_bucket_whose_bounds_contain_its_latency",
        Duration::from_secs(90),
        || {
            let Some(python) = receiver_python() else {
                return;
            };
            let receiver = Receiver::start(&python, &[]);
            let telemetry = instrument_runtime::builder()
                .exporter(exporter(
                    &receiver,
                    Protocol::HttpProtobuf,
                    Temporality::Cumulative,
                ))
                .exponential_histograms(true)
                .install()
                .unwrap();
            sleeps_once_a();
            sleeps_once_b();
            sleeps_once_c();
            for ms in [0, 0, 1, 2, 3, 5, 8, 13] {
                sleeps(ms);
            }
            for i in 0..200 {
                wide(i == 0);
            }
            let report = within(Duration::from_secs(30), move || {
                telemetry.shutdown_with_timeout(Duration::from_secs(20))
            });
            assert!(report.completed);
            let of = [
                "sleeps_once_a",
                "sleeps_once_b",
                "sleeps_once_c",
                "sleeps",
                "wide",
            ];
            let lines = receiver.wait_for(Duration::from_secs(20), |l| {
                let (p, _) = points(l, &of);
                of.iter().all(|f| p.iter().any(|(g, _)| g == f))
            });
            let (pts, explicit) = points(&lines, &of);
            assert_eq!(explicit, 0, "exponential points replace the explicit ones");
            for (f, min_ms) in [
                ("sleeps_once_a", 1.0),
                ("sleeps_once_b", 7.0),
                ("sleeps_once_c", 40.0),
            ] {
                let p = last(&pts, f);
                assert_eq!(p.temporality, "AGGREGATION_TEMPORALITY_CUMULATIVE");
                assert_eq!((p.count, p.zero), (1, 0), "{f}: {p:?}");
                assert_eq!(p.scale, 3, "{f}: one call fits at the recording scale");
                assert!(p.sum >= min_ms / 1e3, "{f}: slept {min_ms} ms: {p:?}");
                // One call: the sum is its latency, and its bucket's bounds contain it.
                let populated: Vec<usize> =
                    (0..p.buckets.len()).filter(|&k| p.buckets[k] > 0).collect();
                assert_eq!(populated.len(), 1, "{f}: {p:?}");
                let (lo, hi) = bounds(p.scale, p.offset + populated[0] as i32);
                assert!(
                    lo < p.sum && p.sum <= hi,
                    "{f}: {} not in ({lo}, {hi}]: {p:?}",
                    p.sum
                );
                assert!(p.exemplars <= 1, "{f}: at most the one call: {p:?}");
            }
            let p = last(&pts, "sleeps");
            assert_eq!(p.count, 8);
            assert_eq!(p.zero + p.buckets.iter().sum::<u64>(), 8, "{p:?}");
            let (lo, _) = bounds(p.scale, p.offset);
            assert!(lo < 1e-3, "the sleep(0) calls are below 1 ms: {p:?}");
            let (_, top) = bounds(p.scale, p.offset + p.buckets.len() as i32 - 1);
            assert!(top >= 0.013, "the 13 ms call is inside the range: {p:?}");

            // ~50 ns to 300 ms: ~23 octaves, 190 buckets at scale 3, so downscaled to fit 160.
            let p = last(&pts, "wide");
            assert_eq!(p.count, 200);
            assert_eq!(p.zero + p.buckets.iter().sum::<u64>(), 200, "{p:?}");
            assert!(p.buckets.len() <= 160, "{p:?}");
            assert!(p.scale < 3, "downscaled: {p:?}");
            let (_, top) = bounds(p.scale, p.offset + p.buckets.len() as i32 - 1);
            assert!(top >= 0.3, "the 300 ms call is inside the range: {p:?}");
            assert_eq!(
                *p.buckets.last().unwrap(),
                1,
                "the slow call alone at the top"
            );
        },
    );
}

fn delta(protocol: Protocol, temporality: Temporality, name: &str) {
    isolated(name, Duration::from_secs(90), move || {
        let Some(python) = receiver_python() else {
            return;
        };
        let receiver = Receiver::start(&python, &[]);
        let telemetry = instrument_runtime::builder()
            .exporter(exporter(&receiver, protocol, temporality))
            .exponential_histograms(true)
            .metrics_interval(Duration::from_millis(30))
            .install()
            .unwrap();
        let mut calls = 0u64;
        for round in 0..20u64 {
            for i in 0..(round * 7 % 13 + 1) {
                delta_calls(i);
                calls += 1;
            }
            std::thread::sleep(Duration::from_millis(11));
        }
        let report = within(Duration::from_secs(30), move || {
            telemetry.shutdown_with_timeout(Duration::from_secs(20))
        });
        assert!(report.completed);
        let of = ["delta_calls"];
        let lines = receiver.wait_for(Duration::from_secs(20), |l| {
            points(l, &of).0.iter().map(|p| p.1.count).sum::<u64>() >= calls
        });
        let (pts, explicit) = points(&lines, &of);
        assert_eq!(explicit, 0);
        assert!(pts.len() >= 3, "several intervals: {pts:?}");
        assert_eq!(
            pts.iter().map(|p| p.1.count).sum::<u64>(),
            calls,
            "deltas sum to the calls: {pts:?}"
        );
        for (_, p) in &pts {
            assert_eq!(p.temporality, "AGGREGATION_TEMPORALITY_DELTA");
            assert_eq!(p.zero + p.buckets.iter().sum::<u64>(), p.count, "{p:?}");
        }
    });
}

#[test]
fn delta_exponential_points_sum_to_the_calls() {
    delta(
        Protocol::HttpProtobuf,
        Temporality::Delta,
        "delta_exponential_points_sum_to_the_calls",
    );
}

#[test]
fn lowmemory_exponential_points_over_grpc_sum_to_the_calls() {
    delta(
        Protocol::Grpc,
        Temporality::LowMemory,
        "lowmemory_exponential_points_over_grpc_sum_to_the_calls",
    );
}

/// With `value` in the variable (and no builder call), whether the latency arrives as an
/// exponential histogram (else explicit).
fn from_env(value: &'static str, name: &str, exponential: bool) {
    isolated(name, Duration::from_secs(60), move || {
        let Some(python) = receiver_python() else {
            return;
        };
        std::env::set_var(
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
            value,
        );
        let receiver = Receiver::start(&python, &[]);
        let telemetry = instrument_runtime::builder()
            .exporter(exporter(
                &receiver,
                Protocol::HttpProtobuf,
                Temporality::Cumulative,
            ))
            .install()
            .unwrap();
        for ms in [1, 2] {
            sleeps(ms);
        }
        let report = within(Duration::from_secs(30), move || {
            telemetry.shutdown_with_timeout(Duration::from_secs(20))
        });
        assert!(report.completed);
        let of = ["sleeps"];
        let lines = receiver.wait_for(Duration::from_secs(20), |l| {
            let (p, e) = points(l, &of);
            !p.is_empty() || e > 0
        });
        let (pts, explicit) = points(&lines, &of);
        if exponential {
            assert_eq!(explicit, 0);
            assert_eq!(last(&pts, "sleeps").count, 2, "{pts:?}");
        } else {
            assert!(pts.is_empty(), "{value:?}: explicit buckets: {pts:?}");
            assert!(explicit > 0);
        }
    });
}

#[test]
fn the_environment_variable_turns_exponential_histograms_on() {
    from_env(
        "Base2_Exponential_Bucket_Histogram",
        "the_environment_variable_turns_exponential_histograms_on",
        true,
    );
}

#[test]
fn explicit_buckets_are_the_default_of_the_environment_variable() {
    from_env(
        "explicit_bucket_histogram",
        "explicit_buckets_are_the_default_of_the_environment_variable",
        false,
    );
}

#[test]
fn an_invalid_environment_value_falls_back_to_explicit_buckets() {
    from_env(
        "exponential",
        "an_invalid_environment_value_falls_back_to_explicit_buckets",
        false,
    );
}

#[cfg(unix)]
#[test]
fn a_forked_child_counts_only_its_own_calls_in_exponential_buckets() {
    const T: Duration = Duration::from_secs(30);
    isolated(
        "a_forked_child_counts_only_its_own_calls_in_exponential_buckets",
        Duration::from_secs(90),
        || {
            let Some(python) = receiver_python() else {
                return;
            };
            let receiver = Receiver::start(&python, &[]);
            let endpoint = receiver.endpoint(Protocol::HttpProtobuf);
            let telemetry = instrument_runtime::builder()
                .exporter_factory(move || {
                    OtlpExporter::builder()
                        .endpoint(endpoint.clone())
                        .build()
                        .unwrap()
                })
                .exponential_histograms(true)
                .install()
                .unwrap();
            for _ in 0..5 {
                fork_calls();
            }
            assert!(telemetry.flush(T).completed);
            // SAFETY: the child runs only this test's Rust code (with a fresh exporter thread)
            // and leaves through _exit, never returning into the test harness.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                fork_calls();
                fork_calls();
                let ok = instrument_runtime::flush(T).completed;
                // SAFETY: leave the child without running the harness' exit path.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            let mut status = 0;
            // SAFETY: waiting for our own child with a valid out-pointer.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            assert_eq!(r, pid);
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "child flushed"
            );
            let of = ["fork_calls"];
            let of_pid = |lines: &[Json], pid: u32| -> Vec<Json> {
                let want = format!("{{\"intValue\":\"{pid}\"}}");
                lines
                    .iter()
                    .filter(|l| {
                        resource_attribute(l, "process.pid").map(|v| v.to_string())
                            == Some(want.clone())
                    })
                    .cloned()
                    .collect()
            };
            let lines = receiver.wait_for(Duration::from_secs(20), |l| {
                !points(&of_pid(l, pid as u32), &of).0.is_empty()
            });
            let (child, _) = points(&of_pid(&lines, pid as u32), &of);
            let p = last(&child, "fork_calls");
            assert_eq!(
                p.count, 2,
                "the parent's 5 calls are not the child's: {child:?}"
            );
            assert_eq!(p.zero + p.buckets.iter().sum::<u64>(), 2, "{p:?}");
            let (parent, _) = points(&of_pid(&lines, std::process::id()), &of);
            assert_eq!(last(&parent, "fork_calls").count, 5, "{parent:?}");
            drop(telemetry);
        },
    );
}
