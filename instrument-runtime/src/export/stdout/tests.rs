//! Unit tests of the stdout exporter.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use std::io;
use std::time::Duration;

use serde_json::{json, Value as Json};

use super::pretty::*;
use super::*;
use crate::export::{
    Batch, CounterPoint, GaugePoint, HistogramPoint, KeyValue, LogData, Metric, MetricData,
    MetricsSnapshot, Resource, SpanData, SpanStatus,
};
use crate::Level;
use crate::{SpanId, TraceId};

/// A writer tests can read back while the exporter owns a clone.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn take(&self) -> String {
        let mut bytes = self.0.lock().expect("test buffer poisoned");
        String::from_utf8(std::mem::take(&mut *bytes)).expect("output is UTF-8")
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("test buffer poisoned")
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer whose reader went away.
struct ClosedPipe;

impl Write for ClosedPipe {
    fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::BrokenPipe))
    }
    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
const ROOT: u64 = 0x00f0_67aa_0ba9_02b7;
const CART: u64 = 0x0000_0000_0000_00c1;
const CHARGE: u64 = 0x0000_0000_0000_00c2;

fn span(name: &'static str, id: u64, parent: Option<u64>, start_ms: u64, end_ms: u64) -> SpanData {
    SpanData {
        trace_id: TraceId::from_u128(TRACE),
        span_id: SpanId::from_u64(id),
        parent_span_id: parent.map(SpanId::from_u64),
        trace_flags: 1,
        name,
        target: "shop::api",
        module_path: "shop::api",
        file: "src/api.rs",
        line: 42,
        level: Level::Info,
        start_unix_nanos: 1_700_000_000_000_000_000 + start_ms * 1_000_000,
        end_unix_nanos: 1_700_000_000_000_000_000 + end_ms * 1_000_000,
        status: SpanStatus::Unset,
        attributes: Vec::new(),
        ..Default::default()
    }
}

fn log(body: &str, span_id: Option<u64>, at_ms: u64) -> LogData {
    LogData {
        timestamp_unix_nanos: 1_700_000_000_000_000_000 + at_ms * 1_000_000,
        level: Level::Info,
        target: Cow::Borrowed("shop::cart"),
        body: body.to_owned(),
        trace_id: span_id.map(|_| TraceId::from_u128(TRACE)),
        span_id: span_id.map(SpanId::from_u64),
        trace_flags: u8::from(span_id.is_some()),
        module_path: Some(Cow::Borrowed("shop::cart")),
        file: None,
        line: Some(7),
        attributes: Vec::new(),
    }
}

fn exporter(mode: StdoutMode) -> (StdoutExporter<SharedBuf>, SharedBuf) {
    let out = SharedBuf::default();
    (StdoutExporter::with_writer(out.clone(), mode), out)
}

/// Parses every line; fails the test on a line that is not one JSON object.
fn json_lines(text: &str) -> Vec<Json> {
    assert!(
        text.ends_with('\n') || text.is_empty(),
        "output ends mid-line: {text:?}"
    );
    text.lines()
        .map(|line| {
            serde_json::from_str::<Json>(line)
                .unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}"))
        })
        .inspect(|v| assert!(v.is_object(), "not an object: {v}"))
        .collect()
}

fn export_json(batch: &Batch) -> Vec<Json> {
    let (mut exporter, out) = exporter(StdoutMode::Json);
    exporter.export(batch).expect("export succeeds");
    json_lines(&out.take())
}

#[test]
fn span_line_has_every_field() {
    let mut charge = span("charge", CHARGE, Some(ROOT), 1, 3);
    charge.level = Level::Warn;
    charge.status = SpanStatus::Error {
        message: "card declined".into(),
    };
    charge.attributes = vec![
        KeyValue::new("amount", 1250_i64),
        KeyValue::new("retry", false),
    ];
    let lines = export_json(&Batch {
        spans: vec![charge],
        ..Batch::default()
    });
    assert_eq!(lines.len(), 1);
    let expected = json!({
        "kind": "span",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00000000000000c2",
        "parent_span_id": "00f067aa0ba902b7",
        "trace_flags": "01",
        "name": "charge",
        "target": "shop::api",
        "module": "shop::api",
        "file": "src/api.rs",
        "line": 42,
        "level": "WARN",
        "start_time_unix_nano": 1_700_000_000_001_000_000_u64,
        "end_time_unix_nano": 1_700_000_000_003_000_000_u64,
        "duration_ns": 2_000_000,
        "status": "error",
        "status_message": "card declined",
        "attributes": { "amount": 1250, "retry": false },
    });
    assert_eq!(lines[0], expected);
}

#[test]
fn root_span_has_null_parent_and_no_status_message() {
    let mut root = span("handle_request", ROOT, None, 0, 5);
    root.status = SpanStatus::Ok;
    root.trace_flags = 0;
    let lines = export_json(&Batch {
        spans: vec![root],
        ..Batch::default()
    });
    assert_eq!(lines[0]["parent_span_id"], Json::Null);
    assert_eq!(lines[0]["status"], "ok");
    assert_eq!(lines[0]["trace_flags"], "00");
    assert!(lines[0].get("status_message").is_none());
    assert!(lines[0].get("service").is_none(), "no resource, no service");
}

#[test]
fn log_lines_carry_otel_correlation_fields() {
    let mut warn = log("loading cart", Some(CART), 2);
    warn.level = Level::Warn;
    warn.attributes = vec![KeyValue::new("items", 3_i64)];
    let plain = log("started", None, 0);
    let lines = export_json(&Batch {
        logs: vec![warn, plain],
        ..Batch::default()
    });
    assert_eq!(lines.len(), 2);
    let expected = json!({
        "kind": "log",
        "timestamp_unix_nano": 1_700_000_000_002_000_000_u64,
        "severity_text": "WARN",
        "severity_number": 13,
        "target": "shop::cart",
        "body": "loading cart",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00000000000000c1",
        "trace_flags": "01",
        "module": "shop::cart",
        "file": null,
        "line": 7,
        "attributes": { "items": 3 },
    });
    assert_eq!(lines[0], expected);
    assert_eq!(lines[1]["trace_id"], Json::Null);
    assert_eq!(lines[1]["span_id"], Json::Null);
    assert_eq!(lines[1]["severity_text"], "INFO");
    assert_eq!(lines[1]["severity_number"], 9);
}

#[test]
fn service_name_comes_from_the_resource() {
    let resource = Resource {
        service_name: "shop".into(),
        attributes: Vec::new(),
    };
    let batch = Batch {
        spans: vec![span("a", ROOT, None, 0, 1)],
        logs: vec![log("b", None, 0)],
        metrics: Some(snapshot_with(vec![counter("calls_total", 4)])),
        resource: Some(Arc::new(resource)),
    };
    let lines = export_json(&batch);
    assert_eq!(lines.len(), 3);
    for line in &lines {
        assert_eq!(line["service"], "shop", "{line}");
    }
}

#[test]
fn hostile_strings_and_non_finite_floats_stay_strict_json() {
    let hostile = "quote\" backslash\\ newline\n cr\r tab\t bell\u{7} esc\u{1b}[31m nul\u{0} del\u{7f} \u{2028} end";
    let mut s = span("weird", ROOT, None, 0, 1);
    s.status = SpanStatus::Error {
        message: Cow::Owned(hostile.to_owned()),
    };
    s.attributes = vec![
        KeyValue::new("text", hostile.to_owned()),
        KeyValue::new("lone_nul", "\u{0}"),
        KeyValue::new(hostile.to_owned(), 1_i64),
        KeyValue::new("nan", f64::NAN),
        KeyValue::new("inf", f64::INFINITY),
        KeyValue::new("neg_inf", f64::NEG_INFINITY),
        KeyValue::new("half", 0.5),
    ];
    let mut l = log(hostile, Some(ROOT), 0);
    l.target = Cow::Owned(hostile.to_owned());
    let (mut exporter, out) = exporter(StdoutMode::Json);
    exporter
        .export(&Batch {
            spans: vec![s],
            logs: vec![l],
            ..Batch::default()
        })
        .expect("export");
    let text = out.take();
    assert!(
        !text.contains("NaN,") && !text.contains(":NaN") && !text.contains(":Infinity"),
        "bare non-finite number in {text}"
    );
    let lines = json_lines(&text);
    assert_eq!(
        lines.len(),
        2,
        "a newline in user data split a line: {text}"
    );
    let attrs = &lines[0]["attributes"];
    assert_eq!(attrs["text"], hostile);
    assert_eq!(attrs["lone_nul"], "\u{0}");
    assert_eq!(attrs[hostile], 1);
    assert_eq!(attrs["nan"], "NaN");
    assert_eq!(attrs["inf"], "Infinity");
    assert_eq!(attrs["neg_inf"], "-Infinity");
    assert_eq!(attrs["half"], 0.5);
    assert_eq!(lines[0]["status_message"], hostile);
    assert_eq!(lines[1]["body"], hostile);
    assert_eq!(lines[1]["target"], hostile);
}

const BOUNDS: &[f64] = &[0.001, 0.01, 0.1];

fn histogram(name: &'static str, points: Vec<HistogramPoint>) -> Metric {
    Metric {
        name: name.into(),
        description: "latency".into(),
        unit: "s".into(),
        data: MetricData::Histogram(points),
    }
}

fn counter(name: &'static str, value: u64) -> Metric {
    let point = CounterPoint {
        labels: vec![("function".into(), "charge".into())],
        value,
    };
    Metric {
        name: name.into(),
        description: String::new().into(),
        unit: "1".into(),
        data: MetricData::Counter(vec![point]),
    }
}

fn snapshot_with(metrics: Vec<Metric>) -> MetricsSnapshot {
    MetricsSnapshot {
        start_unix_nanos: 1_000,
        time_unix_nanos: 2_000,
        metrics,
    }
}

fn latency_point(result: &'static str, bucket_counts: Vec<u64>, sum: f64) -> HistogramPoint {
    HistogramPoint {
        labels: vec![
            ("function".into(), "charge".into()),
            ("result".into(), result.into()),
        ],
        bounds: BOUNDS,
        count: bucket_counts.iter().sum(),
        bucket_counts,
        sum,
        exemplars: Vec::new(),
        exponential: None,
    }
}

#[test]
fn one_metric_line_per_series_with_cumulative_buckets() {
    let latency = histogram(
        "function_duration_seconds",
        vec![
            latency_point("ok", vec![2, 3, 0, 1], 0.25),
            latency_point("error", vec![0, 0, 0, 0], f64::NAN),
        ],
    );
    let gauge = Metric {
        name: "queue_fill".into(),
        description: "".into(),
        unit: "1".into(),
        data: MetricData::Gauge(vec![GaugePoint {
            labels: Vec::new(),
            value: f64::INFINITY,
        }]),
    };
    let snapshot = snapshot_with(vec![latency, counter("calls_total", 6), gauge]);
    let lines = export_json(&Batch {
        metrics: Some(snapshot),
        ..Batch::default()
    });
    assert_eq!(
        lines.len(),
        4,
        "two histogram series, one counter, one gauge"
    );
    let expected_ok = json!({
        "kind": "metric",
        "name": "function_duration_seconds",
        "unit": "s",
        "type": "histogram",
        "labels": { "function": "charge", "result": "ok" },
        "start_time_unix_nano": 1_000,
        "time_unix_nano": 2_000,
        "count": 6,
        "sum": 0.25,
        "buckets": [
            { "le": 0.001, "count": 2 },
            { "le": 0.01, "count": 5 },
            { "le": 0.1, "count": 5 },
            { "le": "Infinity", "count": 6 },
        ],
    });
    assert_eq!(lines[0], expected_ok);
    assert_eq!(lines[1]["labels"]["result"], "error");
    assert_eq!(lines[1]["sum"], "NaN");
    assert_eq!(lines[1]["count"], 0);
    assert_eq!(lines[2]["type"], "counter");
    assert_eq!(lines[2]["value"], 6);
    assert_eq!(lines[2]["labels"], json!({ "function": "charge" }));
    assert_eq!(lines[3]["type"], "gauge");
    assert_eq!(lines[3]["value"], "Infinity");
    assert_eq!(lines[3]["labels"], json!({}));
}

#[test]
fn pretty_tree_is_printed_when_the_root_arrives() {
    let (mut exporter, out) = exporter(StdoutMode::Pretty);
    let cart = span("load_cart", CART, Some(ROOT), 0, 1);
    let mut charge = span("charge", CHARGE, Some(ROOT), 1, 2);
    charge.status = SpanStatus::Error {
        message: "card declined".into(),
    };
    let early = Batch {
        spans: vec![charge, cart],
        logs: vec![log("loading cart", Some(CART), 0)],
        ..Batch::default()
    };
    exporter.export(&early).expect("export children");
    assert_eq!(out.take(), "", "children wait for their root");

    let mut root = span("handle_request", ROOT, None, 0, 3);
    root.status = SpanStatus::Ok;
    exporter
        .export(&Batch {
            spans: vec![root],
            ..Batch::default()
        })
        .expect("export root");
    let expected = "\
handle_request [trace 4bf92f35…] 3.00ms ok
  ├─ load_cart 1.00ms
  │    INFO loading cart
  └─ charge 1.00ms error: card declined
";
    assert_eq!(out.take(), expected);
    exporter.flush().expect("flush");
    assert_eq!(
        out.take(),
        "",
        "nothing left pending after the tree printed"
    );
}

#[test]
fn pretty_nested_tree_and_root_logs() {
    let (mut exporter, out) = exporter(StdoutMode::Pretty);
    let spans = vec![
        span("query", 0xd1, Some(CART), 1, 2),
        span("load_cart", CART, Some(ROOT), 0, 3),
        span("charge", CHARGE, Some(ROOT), 3, 4),
        span("handle_request", ROOT, None, 0, 5),
    ];
    let logs = vec![log("begin", Some(ROOT), 0), log("sql", Some(0xd1), 1)];
    exporter
        .export(&Batch {
            spans,
            logs,
            ..Batch::default()
        })
        .expect("export");
    let expected = "\
handle_request [trace 4bf92f35…] 5.00ms
  │ INFO begin
  ├─ load_cart 3.00ms
  │  └─ query 1.00ms
  │       INFO sql
  └─ charge 1.00ms
";
    assert_eq!(out.take(), expected);
}

#[test]
fn pretty_plain_logs_print_at_once_and_orphans_print_on_flush() {
    let (mut exporter, out) = exporter(StdoutMode::Pretty);
    let mut plain = log("line1\nline2", None, 0);
    plain.attributes = vec![KeyValue::new("who", "a\"b")];
    let orphan = span("load_cart", CART, Some(ROOT), 0, 1);
    exporter
        .export(&Batch {
            spans: vec![orphan],
            logs: vec![plain],
            ..Batch::default()
        })
        .expect("export");
    assert_eq!(
        out.take(),
        "INFO shop::cart: line1\\nline2 {who=\"a\\\"b\"}\n"
    );
    exporter.flush().expect("flush");
    assert_eq!(
        out.take(),
        "load_cart [trace 4bf92f35…] 1.00ms (orphan: parent 00f067aa… not seen)\n"
    );
}

#[test]
fn pretty_prints_everything_past_the_pending_limit() {
    let (exporter, out) = exporter(StdoutMode::Pretty);
    let mut exporter = exporter.pending_limit(2);
    let one = Batch {
        spans: vec![
            span("a", 0xa, Some(ROOT), 0, 1),
            span("b", 0xb, Some(ROOT), 1, 2),
        ],
        ..Batch::default()
    };
    exporter.export(&one).expect("export");
    assert_eq!(out.take(), "", "at the limit, still waiting");
    exporter
        .export(&Batch {
            spans: vec![span("c", 0xc, Some(ROOT), 2, 3)],
            ..Batch::default()
        })
        .expect("export");
    let text = out.take();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.lines()
            .all(|l| l.contains("(orphan: parent 00f067aa… not seen)")),
        "{text}"
    );
    assert_eq!(exporter.pending.records, 0);
}

#[test]
fn pretty_prints_idle_traces_after_the_timeout() {
    let (exporter, out) = exporter(StdoutMode::Pretty);
    let mut exporter = exporter.pending_timeout(Duration::ZERO);
    exporter
        .export(&Batch {
            spans: vec![span("remote_child", CART, Some(ROOT), 0, 1)],
            ..Batch::default()
        })
        .expect("export");
    assert!(out.take().starts_with("remote_child [trace 4bf92f35…]"));
}

#[test]
fn pretty_parent_cycle_terminates_and_prints_both() {
    let (mut exporter, out) = exporter(StdoutMode::Pretty);
    let spans = vec![
        span("a", 0xa, Some(0xb), 0, 1),
        span("b", 0xb, Some(0xa), 0, 1),
    ];
    exporter
        .export(&Batch {
            spans,
            ..Batch::default()
        })
        .expect("export");
    exporter.flush().expect("flush");
    let text = out.take();
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn pretty_histogram_is_one_compact_line() {
    let (mut exporter, out) = exporter(StdoutMode::Pretty);
    let latency = histogram(
        "function_duration_seconds",
        vec![latency_point("ok", vec![2, 3, 0, 1], 0.25)],
    );
    let snapshot = snapshot_with(vec![latency, counter("calls_total", 6)]);
    exporter
        .export(&Batch {
            metrics: Some(snapshot),
            ..Batch::default()
        })
        .expect("export");
    // p50: rank 3 of 6 falls in (0.001, 0.01] after 2 -> 0.001 + 0.009 * 1/3 = 4ms.
    // p90/p99: in the +Inf bucket -> the highest finite bound, 100ms.
    let expected = "\
function_duration_seconds{function=\"charge\",result=\"ok\"} count=6 sum=250ms p50≈4.00ms p90≈100ms p99≈100ms
calls_total{function=\"charge\"} 6
";
    assert_eq!(out.take(), expected);
}

#[test]
fn write_errors_are_permanent_not_panics() {
    for mode in [StdoutMode::Json, StdoutMode::Pretty] {
        let mut exporter = StdoutExporter::with_writer(ClosedPipe, mode);
        let batch = Batch {
            spans: vec![span("root", ROOT, None, 0, 1)],
            ..Batch::default()
        };
        let err = exporter.export(&batch).expect_err("closed pipe fails");
        assert_eq!(err.kind, crate::ExportErrorKind::Permanent);
        assert!(err.message.contains("write failed"), "{err}");
        assert!(exporter.flush().is_err());
    }
}

#[test]
fn empty_batch_writes_nothing() {
    let mut exporter = StdoutExporter::with_writer(ClosedPipe, StdoutMode::Json);
    assert_eq!(exporter.export(&Batch::default()), Ok(()));
    assert_eq!(exporter.name(), "stdout");
}

#[test]
fn mode_values() {
    assert_eq!(parse_mode("pretty"), Some(StdoutMode::Pretty));
    assert_eq!(parse_mode(" PRETTY "), Some(StdoutMode::Pretty));
    assert_eq!(parse_mode("json"), Some(StdoutMode::Json));
    assert_eq!(parse_mode(""), Some(StdoutMode::Json));
    assert_eq!(parse_mode("yaml"), None);
    assert_eq!(parse_mode("prettyy"), None);
}

#[test]
fn durations_use_human_units() {
    assert_eq!(format_duration(0), "0ns");
    assert_eq!(format_duration(850), "850ns");
    assert_eq!(format_duration(1_500), "1.50µs");
    assert_eq!(format_duration(310_000), "310µs");
    assert_eq!(format_duration(1_200_000), "1.20ms");
    assert_eq!(format_duration(12_500_000_000), "12.5s");
}

#[test]
fn pretty_escapes_control_characters() {
    assert_eq!(clean("a\nb\u{1b}[31m\u{0}"), "a\\nb\\u{1b}[31m\\u{0}");
    assert!(matches!(
        clean("plain"),
        std::borrow::Cow::Borrowed("plain")
    ));
}

/// Estimates stay inside what the counts prove: one call reads its own duration, and no
/// estimate exceeds the largest value the sum allows.
#[test]
fn quantile_estimates_never_leave_the_observed_range() {
    let point = |bucket_counts: Vec<u64>, sum: f64| HistogramPoint {
        labels: Vec::new(),
        bounds: &crate::BOUNDS_SECONDS,
        count: bucket_counts.iter().sum(),
        bucket_counts,
        sum,
        exemplars: Vec::new(),
        exponential: None,
    };
    // One 125 us call: in the (100 us, 500 us] bucket, interpolation alone says ~300 us.
    let mut counts = vec![0; crate::BOUNDS_SECONDS.len() + 1];
    let bucket = crate::BOUNDS_SECONDS
        .iter()
        .position(|&b| b >= 125e-6)
        .expect("a bucket above 125 us");
    counts[bucket] = 1;
    let one = point(counts.clone(), 125e-6);
    for q in [0.5, 0.9, 0.99] {
        let v = estimate_quantile(&one, q).expect("non-empty");
        assert!((v - 125e-6).abs() < 1e-12, "q={q}: {v}");
    }
    assert!(
        histogram_summary(&one, "s").contains("p50≈125µs"),
        "{}",
        histogram_summary(&one, "s")
    );
    // Two calls in that bucket summing to 250 us: nothing above 250 - 100 = 150 us.
    counts[bucket] = 2;
    let two = point(counts, 250e-6);
    let lower = crate::BOUNDS_SECONDS[bucket - 1];
    for q in [0.5, 0.9, 0.99] {
        let v = estimate_quantile(&two, q).expect("non-empty");
        assert!(v >= lower && v <= 250e-6 - lower + 1e-12, "q={q}: {v}");
    }
}
