//! Delta temporality against the real receiver: calls made across many metric intervals are
//! exported as deltas whose sum is the exact number of calls (none counted twice or never),
//! with touching windows; `lowmemory` is the same for counters and histograms.

mod otlp_support;

use std::collections::BTreeMap;
use std::time::Duration;

use instrument_runtime::export::otlp::{OtlpExporter, Protocol, Temporality};
use instrument_runtime::instrument;
use instrument_tests::{isolated, within};
use otlp_support::{receiver_python, requests, Receiver};
use serde_json::Value as Json;

#[instrument]
fn delta_work(i: u64) -> u64 {
    i ^ 1
}

/// `(start, time, value)` of every `function_calls_total` point for `delta_work`, and of every
/// histogram count, in the order received.
fn points(lines: &[Json], metric: &str) -> Vec<(u64, u64, u64, String)> {
    let mut out = Vec::new();
    for line in requests(lines, "metrics") {
        for rm in line["request"]["resourceMetrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
                for m in sm["metrics"].as_array().into_iter().flatten() {
                    if m["name"] != metric {
                        continue;
                    }
                    let (data, field) = if m.get("sum").is_some() {
                        (&m["sum"], "asInt")
                    } else {
                        (&m["histogram"], "count")
                    };
                    let temporality = data["aggregationTemporality"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned();
                    for p in data["dataPoints"].as_array().into_iter().flatten() {
                        let ours = p["attributes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|kv| kv["value"]["stringValue"] == "delta_work");
                        if !ours {
                            continue;
                        }
                        let num = |v: &Json| v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
                        out.push((
                            num(&p["startTimeUnixNano"]),
                            num(&p["timeUnixNano"]),
                            num(&p[field]),
                            temporality.clone(),
                        ));
                    }
                }
            }
        }
    }
    out
}

fn run(protocol: Protocol, temporality: Temporality, name: &str) {
    isolated(name, Duration::from_secs(90), move || {
        let Some(python) = receiver_python() else {
            return;
        };
        let receiver = Receiver::start(&python, &[]);
        let exporter = OtlpExporter::builder()
            .endpoint(receiver.endpoint(protocol))
            .protocol(protocol)
            .temporality(temporality)
            .build()
            .unwrap();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .metrics_interval(Duration::from_millis(30))
            .install()
            .unwrap();
        let mut calls = 0u64;
        for round in 0..20u64 {
            for i in 0..(round * 7 % 13 + 1) {
                delta_work(i);
                calls += 1;
            }
            std::thread::sleep(Duration::from_millis(11));
        }
        let report = within(Duration::from_secs(30), move || {
            telemetry.shutdown_with_timeout(Duration::from_secs(20))
        });
        assert!(report.completed);
        let lines = receiver.wait_for(Duration::from_secs(20), |l| {
            points(l, "function_calls_total")
                .iter()
                .map(|p| p.2)
                .sum::<u64>()
                >= calls
        });
        for metric in ["function_calls_total", "function_calls_duration_seconds"] {
            let pts = points(&lines, metric);
            assert!(pts.len() >= 3, "{metric}: several intervals, got {pts:?}");
            let total: u64 = pts.iter().map(|p| p.2).sum();
            assert_eq!(total, calls, "{metric}: deltas sum to the calls: {pts:?}");
            assert!(
                pts.iter().all(|p| p.3 == "AGGREGATION_TEMPORALITY_DELTA"),
                "{pts:?}"
            );
            // Each window starts where the previous one ended.
            let mut by_time: BTreeMap<u64, u64> = BTreeMap::new();
            for p in &pts {
                by_time.insert(p.1, p.0);
            }
            let windows: Vec<(u64, u64)> = by_time.iter().map(|(t, s)| (*s, *t)).collect();
            for pair in windows.windows(2) {
                assert_eq!(pair[1].0, pair[0].1, "{metric}: windows touch: {windows:?}");
            }
        }
    });
}

#[test]
fn delta_over_http_sums_to_the_exact_calls() {
    run(
        Protocol::HttpProtobuf,
        Temporality::Delta,
        "delta_over_http_sums_to_the_exact_calls",
    );
}

#[test]
fn lowmemory_over_grpc_sums_to_the_exact_calls() {
    run(
        Protocol::Grpc,
        Temporality::LowMemory,
        "lowmemory_over_grpc_sums_to_the_exact_calls",
    );
}
