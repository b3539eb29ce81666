//! Exemplars and per-function bucket bounds against the real OTLP receiver (oteltest's sink,
//! `ci/otlp_receiver.py`): the latency histogram of a function with `buckets = [...]` arrives
//! with those bounds and exact counts, and each bucket that counted calls carries one
//! exemplar whose trace and span ids are those of a span the receiver got, the latest call of
//! that bucket.

mod otlp_support;

use std::collections::HashSet;
use std::time::Duration;

use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
use instrument_runtime::instrument;
use instrument_tests::{isolated, within};
use otlp_support::{receiver_python, requests, spans, Receiver};
use serde_json::Value as Json;

#[instrument(buckets = [0.002, 1.0])]
fn exemplar_work(sleep_ms: u64) {
    std::thread::sleep(Duration::from_millis(sleep_ms));
}

/// The last histogram point of `exemplar_work` the receiver got.
fn last_point(lines: &[Json]) -> Option<Json> {
    let mut last = None;
    for line in requests(lines, "metrics") {
        let metrics = line["request"]["resourceMetrics"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|rm| rm["scopeMetrics"].as_array().into_iter().flatten())
            .flat_map(|sm| sm["metrics"].as_array().into_iter().flatten());
        for m in metrics {
            if m["name"] != "function_calls_duration_seconds" {
                continue;
            }
            for p in m["histogram"]["dataPoints"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let ours = p["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|kv| kv["value"]["stringValue"] == "exemplar_work");
                if ours {
                    last = Some(p.clone());
                }
            }
        }
    }
    last
}

fn run(protocol: Protocol, name: &str) {
    isolated(name, Duration::from_secs(90), move || {
        let Some(python) = receiver_python() else {
            return;
        };
        let receiver = Receiver::start(&python, &[]);
        let exporter = OtlpExporter::builder()
            .endpoint(receiver.endpoint(protocol))
            .protocol(protocol)
            .build()
            .unwrap();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .install()
            .unwrap();
        for _ in 0..5 {
            exemplar_work(0); // le=0.002
        }
        for _ in 0..3 {
            exemplar_work(5); // le=1
        }
        let report = within(Duration::from_secs(30), move || {
            telemetry.shutdown_with_timeout(Duration::from_secs(20))
        });
        assert!(report.completed);
        let lines = receiver.wait_for(Duration::from_secs(20), |l| {
            spans(l).len() >= 8 && last_point(l).is_some_and(|p| p["count"].as_str() == Some("8"))
        });
        let ours: Vec<&Json> = spans(&lines)
            .into_iter()
            .filter(|s| s["name"] == "exemplar_work")
            .collect();
        assert_eq!(ours.len(), 8);
        let ids = |v: &Json| {
            (
                v["traceId"].as_str().unwrap_or("").to_owned(),
                v["spanId"].as_str().unwrap_or("").to_owned(),
            )
        };
        let exported: HashSet<(String, String)> = ours.iter().map(|s| ids(s)).collect();
        let point = last_point(&lines).expect("a histogram point");
        eprintln!("histogram point: {point}");
        assert_eq!(point["explicitBounds"], serde_json::json!([0.002, 1.0]));
        assert_eq!(point["bucketCounts"], serde_json::json!(["5", "3", "0"]));
        let exemplars = point["exemplars"].as_array().cloned().unwrap_or_default();
        assert_eq!(exemplars.len(), 2, "one per bucket that counted calls");
        for e in &exemplars {
            assert!(exported.contains(&ids(e)), "{e} names a span not received");
        }
        // Spans arrive in the order the calls ended: the 5th and the 8th are the latest of
        // each bucket. Values are the calls' latencies, inside their buckets.
        let by_value = |e: &Json| e["asDouble"].as_f64().unwrap_or(-1.0);
        let fast = exemplars
            .iter()
            .find(|e| by_value(e) <= 0.002)
            .expect("fast");
        let slow = exemplars
            .iter()
            .find(|e| by_value(e) > 0.002)
            .expect("slow");
        assert_eq!(ids(fast), ids(ours[4]));
        assert_eq!(ids(slow), ids(ours[7]));
        assert!(by_value(slow) >= 0.005 && by_value(slow) <= 1.0, "{slow}");
        assert_eq!(slow["timeUnixNano"], ours[7]["endTimeUnixNano"]);
    });
}

#[test]
fn exemplars_and_own_bounds_arrive_over_http() {
    run(
        Protocol::HttpProtobuf,
        "exemplars_and_own_bounds_arrive_over_http",
    );
}

#[test]
fn exemplars_and_own_bounds_arrive_over_grpc() {
    run(Protocol::Grpc, "exemplars_and_own_bounds_arrive_over_grpc");
}
