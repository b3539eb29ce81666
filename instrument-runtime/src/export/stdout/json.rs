//! JSON lines rendering (see the [module docs](super)).

use serde_json::{json, Map, Number, Value as Json};

use crate::export::{
    Batch, ExportError, HistogramPoint, KeyValue, Labels, LogData, Metric, MetricData,
    MetricsSnapshot, SpanData, SpanStatus, Value,
};

// ---------------------------------------------------------------------------------------------
// JSON lines
// ---------------------------------------------------------------------------------------------

pub(super) fn render_json_batch(out: &mut Vec<u8>, batch: &Batch) -> Result<(), ExportError> {
    let service = batch.resource.as_deref().map(|r| r.service_name.as_str());
    for span in &batch.spans {
        push_json_line(out, span_json(span), service)?;
    }
    for log in &batch.logs {
        push_json_line(out, log_json(log), service)?;
    }
    if let Some(snapshot) = &batch.metrics {
        for line in metric_lines(snapshot) {
            push_json_line(out, line, service)?;
        }
    }
    Ok(())
}

/// Adds `service` to the object and writes it as one line. `serde_json` never writes a raw
/// newline inside a value, so one object is exactly one line.
pub(super) fn push_json_line(
    out: &mut Vec<u8>,
    mut obj: Map<String, Json>,
    service: Option<&str>,
) -> Result<(), ExportError> {
    if let Some(service) = service {
        obj.insert("service".into(), service.into());
    }
    serde_json::to_writer(&mut *out, &obj)
        .map_err(|e| ExportError::permanent(format!("stdout exporter: encoding failed: {e}")))?;
    out.push(b'\n');
    Ok(())
}

/// Unwraps a `json!({..})` object literal.
pub(super) fn into_map(value: Json) -> Map<String, Json> {
    match value {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

pub(super) fn span_json(span: &SpanData) -> Map<String, Json> {
    let mut obj = into_map(json!({
        "kind": "span",
        "trace_id": span.trace_id.to_string(),
        "span_id": span.span_id.to_string(),
        "parent_span_id": span.parent_span_id.map(|p| p.to_string()),
        "trace_flags": format!("{:02x}", span.trace_flags),
        "name": span.name,
        "target": span.target,
        "module": span.module_path,
        "file": span.file,
        "line": span.line,
        "level": span.level.as_upper_str(),
        "start_time_unix_nano": span.start_unix_nanos,
        "end_time_unix_nano": span.end_unix_nanos,
        "duration_ns": span.end_unix_nanos.saturating_sub(span.start_unix_nanos),
        "status": status_str(&span.status),
        "attributes": attributes_json(span.all_attributes()),
    }));
    if let SpanStatus::Error { message } = &span.status {
        obj.insert("status_message".into(), message.as_ref().into());
    }
    span_detail_json(span, &mut obj);
    obj
}

/// The keys present only when a span has them: `span_kind` (unless internal), `events`,
/// `links`, `dropped` (any limit reached).
fn span_detail_json(span: &SpanData, obj: &mut Map<String, Json>) {
    if span.kind != crate::SpanKind::Internal {
        obj.insert("span_kind".into(), span.kind.as_str().into());
    }
    if !span.events.is_empty() {
        let events = span
            .events
            .iter()
            .map(|e| {
                json!({
                    "name": e.name.as_ref(),
                    "time_unix_nano": e.timestamp_unix_nanos,
                    "attributes": attributes_json(&e.attributes),
                    "dropped_attributes_count": e.dropped_attributes_count,
                })
            })
            .collect();
        obj.insert("events".into(), Json::Array(events));
    }
    if !span.links.is_empty() {
        let links = span
            .links
            .iter()
            .map(|l| json!({"trace_id": l.trace_id.to_string(), "span_id": l.span_id.to_string()}))
            .collect();
        obj.insert("links".into(), Json::Array(links));
    }
    let d = span.dropped;
    if d != crate::export::DroppedCounts::default() {
        obj.insert(
            "dropped".into(),
            json!({"attributes": d.attributes, "events": d.events, "links": d.links}),
        );
    }
}

pub(super) fn status_str(status: &SpanStatus) -> &'static str {
    match status {
        SpanStatus::Unset => "unset",
        SpanStatus::Ok => "ok",
        SpanStatus::Error { .. } => "error",
    }
}

pub(super) fn log_json(log: &LogData) -> Map<String, Json> {
    into_map(json!({
        "kind": "log",
        "timestamp_unix_nano": log.timestamp_unix_nanos,
        "severity_text": log.level.as_upper_str(),
        "severity_number": log.level.otel_severity_number(),
        "target": log.target.as_ref(),
        "body": log.body,
        "trace_id": log.trace_id.map(|t| t.to_string()),
        "span_id": log.span_id.map(|s| s.to_string()),
        "trace_flags": format!("{:02x}", log.trace_flags),
        "module": log.module_path.as_deref(),
        "file": log.file.as_deref(),
        "line": log.line,
        "attributes": attributes_json(&log.attributes),
    }))
}

pub(super) fn attributes_json<I>(attributes: I) -> Json
where
    I: IntoIterator,
    I::Item: std::ops::Deref<Target = KeyValue>,
{
    let map = attributes
        .into_iter()
        .map(|kv| (kv.key.to_string(), value_json(&kv.value)))
        .collect();
    Json::Object(map)
}

pub(super) fn value_json(value: &Value) -> Json {
    match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::I64(v) => Json::from(*v),
        Value::F64(v) => f64_json(*v),
        Value::Str(s) => Json::from(s.as_ref()),
    }
}

/// A float as strict JSON: a number when finite, else `"NaN"`, `"Infinity"` or `"-Infinity"`
/// (`serde_json` alone would write `null`, losing the value).
pub(super) fn f64_json(v: f64) -> Json {
    match Number::from_f64(v) {
        Some(n) => Json::Number(n),
        None if v.is_nan() => Json::from("NaN"),
        None if v > 0.0 => Json::from("Infinity"),
        None => Json::from("-Infinity"),
    }
}

/// One JSON object per series of every metric.
pub(super) fn metric_lines(snapshot: &MetricsSnapshot) -> Vec<Map<String, Json>> {
    let mut lines = Vec::new();
    for metric in &snapshot.metrics {
        match &metric.data {
            MetricData::Counter(points) => lines.extend(points.iter().map(|p| {
                let mut obj = metric_head(metric, "counter", &p.labels, snapshot);
                obj.insert("value".into(), p.value.into());
                obj
            })),
            MetricData::Gauge(points) => lines.extend(points.iter().map(|p| {
                let mut obj = metric_head(metric, "gauge", &p.labels, snapshot);
                obj.insert("value".into(), f64_json(p.value));
                obj
            })),
            MetricData::Histogram(points) => lines.extend(points.iter().map(|p| {
                let mut obj = metric_head(metric, "histogram", &p.labels, snapshot);
                obj.insert("count".into(), p.count.into());
                obj.insert("sum".into(), f64_json(p.sum));
                obj.insert("buckets".into(), cumulative_buckets_json(p));
                obj
            })),
        }
    }
    lines
}

pub(super) fn metric_head(
    metric: &Metric,
    kind: &str,
    labels: &Labels,
    snapshot: &MetricsSnapshot,
) -> Map<String, Json> {
    let labels: Map<String, Json> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), Json::from(v.as_ref())))
        .collect();
    into_map(json!({
        "kind": "metric",
        "name": metric.name.as_ref(),
        "unit": metric.unit.as_ref(),
        "type": kind,
        "labels": labels,
        "start_time_unix_nano": snapshot.start_unix_nanos,
        "time_unix_nano": snapshot.time_unix_nanos,
    }))
}

/// `[{"le": bound, "count": observations <= bound}, ..., {"le": "Infinity", "count": total}]`.
pub(super) fn cumulative_buckets_json(point: &HistogramPoint) -> Json {
    let mut running = 0u64;
    let mut buckets: Vec<Json> = point
        .bounds
        .iter()
        .zip(&point.bucket_counts)
        .map(|(&le, &count)| {
            running = running.saturating_add(count);
            json!({ "le": f64_json(le), "count": running })
        })
        .collect();
    let total = point
        .bucket_counts
        .iter()
        .fold(0u64, |acc, &c| acc.saturating_add(c));
    buckets.push(json!({ "le": "Infinity", "count": total }));
    Json::Array(buckets)
}
