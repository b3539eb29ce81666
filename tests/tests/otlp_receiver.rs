//! The OTLP exporter against a real, independent receiver: PyPI's `oteltest` OTLP sink, which
//! decodes requests with the official generated opentelemetry-proto types
//! (`ci/otlp_receiver.py`, installed by `ci/setup_otlp_receiver.sh`).
//!
//! Each test starts the receiver on free loopback ports, exports one batch (a parent span, a
//! child span, a log record inside the child, a counter and a histogram) over gRPC or
//! HTTP/protobuf, and asserts what the receiver decoded. Without the receiver's venv the tests
//! are skipped, unless `INSTRUMENT_REQUIRE_RECEIVERS=1`, which makes them fail.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
use instrument_runtime::export::{
    CounterPoint, HistogramPoint, KeyValue, LogData, Metric, MetricData, MetricsSnapshot, Resource,
    SpanData, SpanStatus,
};
use instrument_runtime::{Batch, Exporter, Level, SpanId, TraceId};
use instrument_tests::within;
use serde_json::Value as Json;

mod otlp_support;
use otlp_support::{
    array, find, has_attribute, items, read_lines, receiver_python, signal, Receiver,
};

const TEST_LIMIT: Duration = Duration::from_secs(90);
const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
const PARENT: u64 = 0x00f0_67aa_0ba9_02b7;
const CHILD: u64 = 0x0a1b_2c3d_4e5f_6071;
const SERVICE: &str = "otlp-receiver-test";
const BOUNDS: &[f64] = &[0.005, 0.01, 0.1, 1.0];

#[test]
fn grpc_export_reaches_a_real_receiver() {
    check_against_receiver(Protocol::Grpc, "grpc");
}

#[test]
fn http_protobuf_export_reaches_a_real_receiver() {
    check_against_receiver(Protocol::HttpProtobuf, "http");
}

fn check_against_receiver(protocol: Protocol, transport: &'static str) {
    let Some(python) = receiver_python() else {
        return;
    };
    let receiver = Receiver::start(&python, &[]);
    let (endpoint, out) = (receiver.endpoint(protocol), receiver.out.clone());
    let lines = within(TEST_LIMIT, move || {
        let mut exporter = OtlpExporter::builder()
            .endpoint(endpoint)
            .protocol(protocol)
            .timeout(Duration::from_secs(10))
            .header("x-instrument-test", "otlp")
            .build()
            .expect("valid configuration");
        exporter.export(&batch()).expect("export to the receiver");
        exporter.shutdown().expect("shutdown");
        received(&out, Duration::from_secs(20))
    });
    drop(receiver);
    for line in &lines {
        assert_eq!(line["transport"], transport, "{line}");
        assert_eq!(
            line["headers"]["x-instrument-test"], "otlp",
            "header lost: {line}"
        );
        assert_eq!(service_name(&line["request"]), Some(SERVICE), "{line}");
    }
    check_traces(&signal(&lines, "traces"));
    check_logs(&signal(&lines, "logs"));
    check_metrics(&signal(&lines, "metrics"));
}

fn check_traces(requests: &[&Json]) {
    let spans = items(requests, "resourceSpans", "scopeSpans", "spans");
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let parent = find(&spans, "name", "handle_request");
    let child = find(&spans, "name", "load_cart");
    let trace = format!("{TRACE:032x}");
    assert_eq!(parent["traceId"], trace.as_str());
    assert_eq!(child["traceId"], parent["traceId"], "trace ids differ");
    assert_eq!(parent["spanId"], format!("{PARENT:016x}").as_str());
    assert_eq!(
        child["parentSpanId"], parent["spanId"],
        "child not linked to parent"
    );
    assert!(
        parent.get("parentSpanId").is_none(),
        "root has a parent: {parent}"
    );
    assert_eq!(child["status"]["code"], "STATUS_CODE_ERROR");
    assert_eq!(child["status"]["message"], "card declined");
    assert_eq!(parent["startTimeUnixNano"], "1700000000000000000");
    assert!(has_attribute(child, "code.line.number"), "{child}");
    let scopes = items(requests, "resourceSpans", "scopeSpans", "scope");
    assert!(
        scopes.iter().all(|s| s["name"] == "instrument-runtime"),
        "{scopes:?}"
    );
}

fn check_logs(requests: &[&Json]) {
    let records = items(requests, "resourceLogs", "scopeLogs", "logRecords");
    assert_eq!(records.len(), 1, "{records:#?}");
    let record = records[0];
    assert_eq!(record["traceId"], format!("{TRACE:032x}").as_str());
    assert_eq!(record["spanId"], format!("{CHILD:016x}").as_str());
    assert_eq!(record["body"]["stringValue"], "loading cart");
    assert_eq!(record["severityNumber"], "SEVERITY_NUMBER_INFO");
    assert_eq!(record["severityText"], "INFO");
    assert_eq!(
        record["timeUnixNano"], "1700000000000500000",
        "time_unix_nano not set"
    );
    assert_eq!(record["observedTimeUnixNano"], record["timeUnixNano"]);
}

fn check_metrics(requests: &[&Json]) {
    let metrics = items(requests, "resourceMetrics", "scopeMetrics", "metrics");
    let counter = find(&metrics, "name", "function_calls_total");
    let sum = &counter["sum"];
    assert_eq!(sum["isMonotonic"], true);
    assert_eq!(
        sum["aggregationTemporality"],
        "AGGREGATION_TEMPORALITY_CUMULATIVE"
    );
    assert_eq!(sum["dataPoints"][0]["asInt"], "2");
    assert!(has_attribute(&sum["dataPoints"][0], "function"));
    let histogram = find(&metrics, "name", "function_calls_duration_seconds");
    assert_eq!(histogram["unit"], "s");
    let point = &histogram["histogram"]["dataPoints"][0];
    assert_eq!(
        histogram["histogram"]["aggregationTemporality"],
        "AGGREGATION_TEMPORALITY_CUMULATIVE"
    );
    assert_eq!(point["count"], "2");
    assert_eq!(point["sum"], 0.012);
    assert_eq!(
        point["bucketCounts"],
        serde_json::json!(["1", "1", "0", "0", "0"])
    );
    assert_eq!(point["explicitBounds"], serde_json::json!(BOUNDS));
    assert_eq!(point["startTimeUnixNano"], "1699999990000000000");
}

/// The batch: `handle_request` -> `load_cart` (error), a log inside `load_cart`, metrics.
fn batch() -> Batch {
    let start = 1_700_000_000_000_000_000;
    let parent = span("handle_request", PARENT, None, start, SpanStatus::Ok);
    let error = SpanStatus::Error {
        message: "card declined".into(),
    };
    let child = span("load_cart", CHILD, Some(PARENT), start + 100_000, error);
    let log = LogData {
        timestamp_unix_nanos: start + 500_000,
        level: Level::Info,
        target: "shop::cart".into(),
        body: "loading cart".into(),
        trace_id: Some(TraceId::from_u128(TRACE)),
        span_id: Some(SpanId::from_u64(CHILD)),
        trace_flags: 1,
        module_path: Some("shop::cart".into()),
        file: Some("src/cart.rs".into()),
        line: Some(12),
        attributes: vec![KeyValue::new("cart.items", 3i64)],
    };
    Batch {
        spans: vec![child, parent],
        logs: vec![log],
        metrics: Some(metrics(start - 10_000_000_000, start + 2_000_000)),
        resource: Some(Arc::new(Resource {
            service_name: SERVICE.into(),
            attributes: vec![KeyValue::new("deployment.environment.name", "test")],
        })),
    }
}

fn span(
    name: &'static str,
    id: u64,
    parent: Option<u64>,
    start: u64,
    status: SpanStatus,
) -> SpanData {
    SpanData {
        trace_id: TraceId::from_u128(TRACE),
        span_id: SpanId::from_u64(id),
        parent_span_id: parent.map(SpanId::from_u64),
        trace_flags: 1,
        name,
        target: "shop",
        module_path: "shop",
        file: "src/shop.rs",
        line: 7,
        level: Level::Info,
        start_unix_nanos: start,
        end_unix_nanos: start + 1_000_000,
        status,
        attributes: vec![KeyValue::new("method", "GET")],
        ..Default::default()
    }
}

fn metrics(start: u64, time: u64) -> MetricsSnapshot {
    let labels = || {
        vec![
            (Cow::Borrowed("function"), Cow::Borrowed("handle_request")),
            (Cow::Borrowed("module"), Cow::Borrowed("shop")),
            (Cow::Borrowed("result"), Cow::Borrowed("ok")),
        ]
    };
    let counter = Metric {
        name: "function_calls_total".into(),
        description: "Calls of instrumented functions.".into(),
        unit: "{call}".into(),
        data: MetricData::Counter(vec![CounterPoint {
            labels: labels(),
            value: 2,
        }]),
    };
    let histogram = Metric {
        name: "function_calls_duration_seconds".into(),
        description: "Duration of instrumented functions.".into(),
        unit: "s".into(),
        data: MetricData::Histogram(vec![HistogramPoint {
            labels: labels(),
            bounds: BOUNDS,
            bucket_counts: vec![1, 1, 0, 0, 0],
            sum: 0.012,
            count: 2,
            exemplars: Vec::new(),
            exponential: None,
        }]),
    };
    MetricsSnapshot {
        start_unix_nanos: start,
        time_unix_nanos: time,
        metrics: vec![counter, histogram],
    }
}

// ---- reading what the receiver wrote ----

/// Waits until the receiver has written a request of every signal, then returns all lines.
fn received(out: &Path, limit: Duration) -> Vec<Json> {
    let deadline = Instant::now() + limit;
    loop {
        let lines = read_lines(out);
        let signals = ["traces", "logs", "metrics"];
        if signals
            .iter()
            .all(|s| lines.iter().any(|l| l["signal"] == *s))
        {
            return lines;
        }
        assert!(Instant::now() < deadline, "receiver got only {lines:#?}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn service_name(request: &Json) -> Option<&str> {
    let resources = request.as_object()?.values().next()?.as_array()?;
    let attributes = array(&resources.first()?["resource"]["attributes"]);
    let service = attributes.iter().find(|kv| kv["key"] == "service.name")?;
    service["value"]["stringValue"].as_str()
}
