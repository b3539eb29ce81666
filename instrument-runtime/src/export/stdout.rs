//! The stdout exporter: JSON lines for machines (the default), or a span tree for humans.
//!
//! # JSON lines
//!
//! One JSON object per line: one per span, one per log record, one per metric series.
//! Field names follow OpenTelemetry's so logs and traces join in any log backend
//! (`trace_id` as 32 lowercase hex digits, `span_id` as 16).
//!
//! | `kind`     | fields |
//! |------------|--------|
//! | `"span"`   | `trace_id`, `span_id`, `parent_span_id` (hex or `null`), `trace_flags` (`"01"`), `name`, `target`, `module`, `file`, `line`, `level` (`"INFO"`), `start_time_unix_nano`, `end_time_unix_nano`, `duration_ns`, `status` (`"unset"`/`"ok"`/`"error"`), `status_message` (only with `"error"`), `attributes` (object); only when present: `span_kind` (`"server"`, ...), `events` (`name`, `time_unix_nano`, `attributes`, `dropped_attributes_count`), `links` (`trace_id`, `span_id`), `dropped` (`attributes`, `events`, `links` counts) |
//! | `"log"`    | `timestamp_unix_nano`, `severity_text` (`"INFO"`), `severity_number` (OTel: 1/5/9/13/17), `target`, `body`, `trace_id`, `span_id` (hex or `null`), `trace_flags`, `module`, `file`, `line` (`null` when unknown), `attributes` |
//! | `"metric"` | `name`, `unit`, `type` (`"counter"`/`"gauge"`/`"histogram"`), `labels` (object of strings), `start_time_unix_nano`, `time_unix_nano`; `value` for counters and gauges; `count`, `sum`, `buckets` for histograms |
//!
//! Every line also has `"service"` (the resource's `service.name`) when the batch carries a
//! resource. Histogram `buckets` are **cumulative**, as Prometheus' `le` buckets: each entry
//! `{"le": bound, "count": n}` counts the observations `<= bound`, and the last entry is
//! `{"le": "Infinity", "count": <count>}`.
//!
//! Output is strict JSON (RFC 8259): a float that is NaN or infinite (an attribute, a gauge, a
//! sum or a bound) is written as the string `"NaN"`, `"Infinity"` or `"-Infinity"`, the
//! spelling OTLP/JSON and protobuf's JSON mapping use. Objects are built with `serde_json`,
//! never by pasting strings, so quotes, newlines and control characters in user data are
//! always escaped. An attribute key that occurs twice keeps its last value.
//!
//! # Pretty
//!
//! With `INSTRUMENT_STDOUT=pretty` (see [`StdoutExporter::from_env`]) or
//! [`StdoutExporter::pretty`], spans are printed as one indented tree per trace, with the log
//! records of a span printed under it:
//!
//! ```text
//! handle_request [trace 4bf92f35…] 1.20ms ok
//!   ├─ load_cart 310µs
//!   │    INFO loading cart
//!   └─ charge 800µs error: card declined
//! ```
//!
//! Children end before their parents, so the spans of one trace arrive over several batches.
//! The exporter keeps them until the root span (no parent) arrives, then prints the tree. A
//! trace that has seen nothing new for [`StdoutExporter::pending_timeout`] (a root in another
//! process, say), everything at [`Exporter::flush`] and [`Exporter::shutdown`], and everything
//! once more than [`StdoutExporter::pending_limit`] records wait, is printed as it is, with
//! its parentless spans marked `(orphan: parent … not seen)`. Logs outside any trace print as
//! plain lines at once; metrics print one line per series at each snapshot.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Number, Value as Json};

use super::{
    Batch, ExportError, Exporter, HistogramPoint, KeyValue, Labels, LogData, Metric, MetricData,
    MetricsSnapshot, SpanData, SpanStatus, Value,
};
use crate::{SpanId, TraceId};

/// The environment variable [`StdoutExporter::from_env`] reads: `json` (the default) or
/// `pretty`, ASCII case-insensitive.
pub const MODE_ENV_VAR: &str = "INSTRUMENT_STDOUT";

/// Records (spans + logs) the pretty mode keeps while it waits for root spans.
pub const DEFAULT_PENDING_LIMIT: usize = 10_000;

/// How long the pretty mode waits for more spans of a trace before printing it without root.
pub const DEFAULT_PENDING_TIMEOUT: Duration = Duration::from_secs(5);

/// What the stdout exporter writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum StdoutMode {
    /// One JSON object per line (see the [module docs](self)).
    #[default]
    Json,
    /// An indented span tree per trace, for humans.
    Pretty,
}

/// Writes batches to stdout (or any [`Write`]) as JSON lines or as a pretty span tree.
///
/// Each batch is rendered into a buffer first and written with one `write_all` (for stdout:
/// one lock), so lines from other threads never land in the middle of a batch. A failed write
/// (a closed pipe, a full disk) is returned as a permanent [`ExportError`], never a panic.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use instrument_runtime::export::stdout::{StdoutExporter, StdoutMode};
/// use instrument_runtime::{Batch, Exporter};
///
/// // Production: stdout, the mode chosen by INSTRUMENT_STDOUT (JSON unless it says "pretty").
/// let _exporter = StdoutExporter::from_env();
///
/// // Tests: capture the output.
/// #[derive(Clone, Default)]
/// struct Shared(Arc<Mutex<Vec<u8>>>);
/// impl std::io::Write for Shared {
///     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
///         self.0.lock().unwrap().extend_from_slice(buf);
///         Ok(buf.len())
///     }
///     fn flush(&mut self) -> std::io::Result<()> {
///         Ok(())
///     }
/// }
/// let out = Shared::default();
/// let mut exporter = StdoutExporter::with_writer(out.clone(), StdoutMode::Json);
/// exporter.export(&Batch::default()).unwrap();
/// assert!(out.0.lock().unwrap().is_empty());
/// ```
pub struct StdoutExporter<W = io::Stdout> {
    /// Where lines go.
    writer: W,
    /// JSON or pretty; fixed at construction.
    mode: StdoutMode,
    /// Rendered text of the current batch; kept to reuse its allocation.
    buf: Vec<u8>,
    /// Pretty mode: traces waiting for their root span.
    pending: Pending,
}

impl StdoutExporter<io::Stdout> {
    /// Writes to stdout in the mode named by [`MODE_ENV_VAR`] (`INSTRUMENT_STDOUT`), read
    /// now. Unset or empty means JSON; an invalid value is reported once per process on
    /// stderr, and JSON is used.
    #[must_use]
    pub fn from_env() -> Self {
        Self::with_writer(io::stdout(), mode_from_env())
    }

    /// Writes JSON lines to stdout.
    #[must_use]
    pub fn json() -> Self {
        Self::with_writer(io::stdout(), StdoutMode::Json)
    }

    /// Writes pretty span trees to stdout.
    #[must_use]
    pub fn pretty() -> Self {
        Self::with_writer(io::stdout(), StdoutMode::Pretty)
    }
}

impl<W> StdoutExporter<W> {
    /// Writes to `writer` in `mode` (tests pass a shared buffer here).
    #[must_use]
    pub fn with_writer(writer: W, mode: StdoutMode) -> Self {
        StdoutExporter {
            writer,
            mode,
            buf: Vec::new(),
            pending: Pending::new(DEFAULT_PENDING_LIMIT, DEFAULT_PENDING_TIMEOUT),
        }
    }

    /// Pretty mode: once more than `limit` records (spans + logs) wait for their root span,
    /// every waiting trace is printed at once. Default [`DEFAULT_PENDING_LIMIT`].
    #[must_use]
    pub fn pending_limit(mut self, limit: usize) -> Self {
        self.pending.limit = limit;
        self
    }

    /// Pretty mode: a trace that received nothing new for `timeout` is printed without its
    /// root (which may live in another process). Default [`DEFAULT_PENDING_TIMEOUT`].
    #[must_use]
    pub fn pending_timeout(mut self, timeout: Duration) -> Self {
        self.pending.timeout = timeout;
        self
    }

    /// The mode this exporter writes in.
    #[must_use]
    pub fn mode(&self) -> StdoutMode {
        self.mode
    }
}

impl<W: Write> StdoutExporter<W> {
    /// Writes what was rendered into `buf`, then flushes so output shows up per batch.
    fn write_buf(&mut self) -> Result<(), ExportError> {
        let result = write_and_flush(&mut self.writer, &self.buf);
        self.buf.clear();
        result
    }

    /// Pretty mode: renders every waiting trace (flush, shutdown).
    fn render_all_pending(&mut self) {
        for trace in self.pending.take_all() {
            render_trace(&mut self.buf, &trace);
        }
    }
}

impl<W> std::fmt::Debug for StdoutExporter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdoutExporter")
            .field("mode", &self.mode)
            .field("pending_traces", &self.pending.traces.len())
            .field("pending_records", &self.pending.records)
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send + 'static> Exporter for StdoutExporter<W> {
    fn name(&self) -> &'static str {
        "stdout"
    }

    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        match self.mode {
            StdoutMode::Json => render_json_batch(&mut self.buf, batch)?,
            StdoutMode::Pretty => {
                let ready = self.pending.admit(batch, Instant::now());
                render_pretty_batch(&mut self.buf, batch, &ready);
            }
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        self.write_buf()
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        self.render_all_pending();
        self.write_buf()
    }

    fn shutdown(&mut self) -> Result<(), ExportError> {
        self.flush()
    }
}

fn write_and_flush(writer: &mut impl Write, bytes: &[u8]) -> Result<(), ExportError> {
    writer
        .write_all(bytes)
        .and_then(|()| writer.flush())
        .map_err(|e| ExportError::permanent(format!("stdout exporter: write failed: {e}")))
}

// ---------------------------------------------------------------------------------------------
// Mode selection
// ---------------------------------------------------------------------------------------------

/// Reads [`MODE_ENV_VAR`]; an invalid value is reported once per process, then JSON is used.
fn mode_from_env() -> StdoutMode {
    let raw = std::env::var(MODE_ENV_VAR);
    let parsed = match &raw {
        Err(std::env::VarError::NotPresent) => Ok(StdoutMode::Json),
        Err(std::env::VarError::NotUnicode(v)) => Err(format!("{v:?}")),
        Ok(v) => parse_mode(v).ok_or_else(|| format!("{v:?}")),
    };
    parsed.unwrap_or_else(|shown| {
        crate::diag::warn(format!(
            "invalid {MODE_ENV_VAR}={shown} (expected \"json\" or \"pretty\"); using json"
        ));
        StdoutMode::Json
    })
}

/// `json` / `pretty` (any ASCII case, surrounding blanks ignored); empty means JSON.
fn parse_mode(value: &str) -> Option<StdoutMode> {
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("json") {
        Some(StdoutMode::Json)
    } else if value.eq_ignore_ascii_case("pretty") {
        Some(StdoutMode::Pretty)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// JSON lines
// ---------------------------------------------------------------------------------------------

fn render_json_batch(out: &mut Vec<u8>, batch: &Batch) -> Result<(), ExportError> {
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
fn push_json_line(
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
fn into_map(value: Json) -> Map<String, Json> {
    match value {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

fn span_json(span: &SpanData) -> Map<String, Json> {
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
        "attributes": attributes_json(&span.attributes),
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

fn status_str(status: &SpanStatus) -> &'static str {
    match status {
        SpanStatus::Unset => "unset",
        SpanStatus::Ok => "ok",
        SpanStatus::Error { .. } => "error",
    }
}

fn log_json(log: &LogData) -> Map<String, Json> {
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

fn attributes_json(attributes: &[KeyValue]) -> Json {
    let map = attributes
        .iter()
        .map(|kv| (kv.key.to_string(), value_json(&kv.value)))
        .collect();
    Json::Object(map)
}

fn value_json(value: &Value) -> Json {
    match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::I64(v) => Json::from(*v),
        Value::F64(v) => f64_json(*v),
        Value::Str(s) => Json::from(s.as_ref()),
    }
}

/// A float as strict JSON: a number when finite, else `"NaN"`, `"Infinity"` or `"-Infinity"`
/// (`serde_json` alone would write `null`, losing the value).
fn f64_json(v: f64) -> Json {
    match Number::from_f64(v) {
        Some(n) => Json::Number(n),
        None if v.is_nan() => Json::from("NaN"),
        None if v > 0.0 => Json::from("Infinity"),
        None => Json::from("-Infinity"),
    }
}

/// One JSON object per series of every metric.
fn metric_lines(snapshot: &MetricsSnapshot) -> Vec<Map<String, Json>> {
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

fn metric_head(
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
fn cumulative_buckets_json(point: &HistogramPoint) -> Json {
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

// ---------------------------------------------------------------------------------------------
// Pretty: waiting for root spans
// ---------------------------------------------------------------------------------------------

/// Spans and logs of one trace, waiting to be printed together.
#[derive(Default)]
struct TraceRecords {
    trace_id: TraceId,
    spans: Vec<SpanData>,
    logs: Vec<LogData>,
}

impl TraceRecords {
    fn len(&self) -> usize {
        self.spans.len() + self.logs.len()
    }

    /// Earliest start or timestamp: the order orphan trees are printed in.
    fn first_time(&self) -> u64 {
        let spans = self.spans.iter().map(|s| s.start_unix_nanos);
        let logs = self.logs.iter().map(|l| l.timestamp_unix_nanos);
        spans.chain(logs).min().unwrap_or(0)
    }
}

/// A waiting trace and when it last received a record.
struct PendingTrace {
    records: TraceRecords,
    last_seen: Instant,
}

/// Traces waiting for their root span. Invariant: `records` is the sum of the records of
/// every trace in `traces`, and stays at most `limit` after each [`Pending::admit`].
struct Pending {
    traces: HashMap<TraceId, PendingTrace>,
    records: usize,
    limit: usize,
    timeout: Duration,
}

impl Pending {
    fn new(limit: usize, timeout: Duration) -> Self {
        Pending {
            traces: HashMap::new(),
            records: 0,
            limit,
            timeout,
        }
    }

    /// Takes the traced records of `batch` in and returns the traces ready to print: those
    /// whose root arrived, those idle past the timeout, and all of them past the limit.
    fn admit(&mut self, batch: &Batch, now: Instant) -> Vec<TraceRecords> {
        let mut rooted = HashSet::new();
        for span in &batch.spans {
            if span.parent_span_id.is_none() {
                rooted.insert(span.trace_id);
            }
            self.entry(span.trace_id, now).spans.push(span.clone());
        }
        for log in &batch.logs {
            if let Some(trace_id) = log.trace_id {
                self.entry(trace_id, now).logs.push(log.clone());
            }
        }
        self.records +=
            batch.spans.len() + batch.logs.iter().filter(|l| l.trace_id.is_some()).count();
        if self.records > self.limit {
            return self.take_all();
        }
        let timeout = self.timeout;
        self.take_where(|id, t| rooted.contains(id) || now.duration_since(t.last_seen) >= timeout)
    }

    fn entry(&mut self, trace_id: TraceId, now: Instant) -> &mut TraceRecords {
        let pending = self.traces.entry(trace_id).or_insert_with(|| PendingTrace {
            records: TraceRecords {
                trace_id,
                ..TraceRecords::default()
            },
            last_seen: now,
        });
        pending.last_seen = now;
        &mut pending.records
    }

    fn take_all(&mut self) -> Vec<TraceRecords> {
        self.take_where(|_, _| true)
    }

    /// Removes the matching traces, oldest first.
    fn take_where(
        &mut self,
        mut ready: impl FnMut(&TraceId, &PendingTrace) -> bool,
    ) -> Vec<TraceRecords> {
        let ids: Vec<TraceId> = self
            .traces
            .iter()
            .filter(|(id, t)| ready(id, t))
            .map(|(id, _)| *id)
            .collect();
        let mut taken: Vec<TraceRecords> = ids
            .iter()
            .filter_map(|id| self.traces.remove(id))
            .map(|t| t.records)
            .collect();
        self.records -= taken.iter().map(TraceRecords::len).sum::<usize>();
        taken.sort_by_key(|t| (t.first_time(), t.trace_id));
        taken
    }
}

// ---------------------------------------------------------------------------------------------
// Pretty: rendering
// ---------------------------------------------------------------------------------------------

/// Plain log lines first (in batch order), then the finished trees, then metrics.
fn render_pretty_batch(out: &mut Vec<u8>, batch: &Batch, ready: &[TraceRecords]) {
    let mut text = String::new();
    for log in batch.logs.iter().filter(|l| l.trace_id.is_none()) {
        let _ = writeln!(
            text,
            "{} {}: {}{}",
            log.level.as_upper_str(),
            clean(&log.target),
            clean(&log.body),
            attrs_suffix(&log.attributes)
        );
    }
    out.extend_from_slice(text.as_bytes());
    for trace in ready {
        render_trace(out, trace);
    }
    if let Some(snapshot) = &batch.metrics {
        out.extend_from_slice(render_metrics(snapshot).as_bytes());
    }
}

/// Who is whose child, and which logs belong to which span, inside one trace.
struct TraceTree<'a> {
    records: &'a TraceRecords,
    /// Span indices by parent span id, by start time.
    children: HashMap<SpanId, Vec<usize>>,
    /// Log indices by span id, by timestamp.
    logs: HashMap<SpanId, Vec<usize>>,
    /// Logs whose span is not in the trace (or that have no span id).
    unattached_logs: Vec<usize>,
    /// Spans without a parent, or whose parent is not in the trace, by start time.
    roots: Vec<usize>,
}

impl<'a> TraceTree<'a> {
    fn new(records: &'a TraceRecords) -> Self {
        let spans = &records.spans;
        let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_id).collect();
        let mut order: Vec<usize> = (0..spans.len()).collect();
        order.sort_by_key(|&i| spans[i].start_unix_nanos);
        let mut tree = TraceTree {
            records,
            children: HashMap::new(),
            logs: HashMap::new(),
            unattached_logs: Vec::new(),
            roots: Vec::new(),
        };
        for i in order {
            match spans[i].parent_span_id {
                Some(parent) if ids.contains(&parent) => {
                    tree.children.entry(parent).or_default().push(i);
                }
                _ => tree.roots.push(i),
            }
        }
        tree.attach_logs(&ids);
        tree
    }

    fn attach_logs(&mut self, ids: &HashSet<SpanId>) {
        let logs = &self.records.logs;
        let mut order: Vec<usize> = (0..logs.len()).collect();
        order.sort_by_key(|&i| logs[i].timestamp_unix_nanos);
        for i in order {
            match logs[i].span_id {
                Some(span) if ids.contains(&span) => self.logs.entry(span).or_default().push(i),
                _ => self.unattached_logs.push(i),
            }
        }
    }
}

/// A span line still to print: which span, and the indentation around it.
struct Frame {
    span: usize,
    /// Printed before the span itself (`"  ├─ "`).
    line_prefix: String,
    /// Printed before everything under the span (`"  │  "`).
    child_prefix: String,
}

/// Prints the trees of one trace, then its logs that belong to no span of it. Iterative, with
/// a visited set, so deep nesting cannot overflow the stack and a parent cycle cannot loop.
fn render_trace(out: &mut Vec<u8>, records: &TraceRecords) {
    let tree = TraceTree::new(records);
    let mut visited = vec![false; records.spans.len()];
    let mut text = String::new();
    // Roots first; then whatever a parent cycle kept out of every root's subtree.
    for start in tree.roots.iter().copied().chain(0..records.spans.len()) {
        if !visited[start] {
            render_subtree(&mut text, &tree, start, &mut visited);
        }
    }
    for &i in &tree.unattached_logs {
        let log = &records.logs[i];
        let span = log
            .span_id
            .map_or_else(|| "-".to_owned(), |s| short_hex(&s.to_string()));
        let _ = writeln!(
            text,
            "[trace {} span {span}] {}",
            short_hex(&records.trace_id.to_string()),
            log_text(log)
        );
    }
    out.extend_from_slice(text.as_bytes());
}

fn render_subtree(text: &mut String, tree: &TraceTree<'_>, root: usize, visited: &mut [bool]) {
    let mut stack = vec![Frame {
        span: root,
        line_prefix: String::new(),
        child_prefix: "  ".to_owned(),
    }];
    while let Some(frame) = stack.pop() {
        if std::mem::replace(&mut visited[frame.span], true) {
            continue;
        }
        let span = &tree.records.spans[frame.span];
        let _ = writeln!(
            text,
            "{}{}",
            frame.line_prefix,
            span_label(span, frame.span == root)
        );
        let kids: Vec<usize> = tree.children.get(&span.span_id).map_or_else(Vec::new, |k| {
            k.iter().copied().filter(|&k| !visited[k]).collect()
        });
        let log_prefix = if kids.is_empty() { "  " } else { "│ " };
        for &i in tree.logs.get(&span.span_id).into_iter().flatten() {
            let _ = writeln!(
                text,
                "{}{log_prefix}{}",
                frame.child_prefix,
                log_text(&tree.records.logs[i])
            );
        }
        push_children(&mut stack, &frame.child_prefix, &kids);
    }
}

/// Pushes children in reverse so the earliest is printed first; the last gets `└─`.
fn push_children(stack: &mut Vec<Frame>, prefix: &str, kids: &[usize]) {
    for (n, &kid) in kids.iter().enumerate().rev() {
        let last = n + 1 == kids.len();
        stack.push(Frame {
            span: kid,
            line_prefix: format!("{prefix}{}", if last { "└─ " } else { "├─ " }),
            child_prefix: format!("{prefix}{}", if last { "   " } else { "│  " }),
        });
    }
}

/// `name [trace 4bf92f35…] 1.20ms ok {k=v}` for a root, `name 310µs {k=v}` below it.
fn span_label(span: &SpanData, is_root: bool) -> String {
    let mut label = clean(span.name).into_owned();
    if is_root {
        let _ = write!(label, " [trace {}]", short_hex(&span.trace_id.to_string()));
    }
    let _ = write!(label, " {}", format_duration(span.duration_nanos()));
    match &span.status {
        SpanStatus::Unset => {}
        SpanStatus::Ok => label.push_str(" ok"),
        SpanStatus::Error { message } => {
            let _ = write!(label, " error: {}", clean(message));
        }
    }
    label.push_str(&attrs_suffix(&span.attributes));
    if let (true, Some(parent)) = (is_root, span.parent_span_id) {
        let _ = write!(
            label,
            " (orphan: parent {} not seen)",
            short_hex(&parent.to_string())
        );
    }
    label
}

fn log_text(log: &LogData) -> String {
    format!(
        "{} {}{}",
        log.level.as_upper_str(),
        clean(&log.body),
        attrs_suffix(&log.attributes)
    )
}

/// ` {k=v, k2="text"}`, or nothing without attributes. Strings are quoted and escaped.
fn attrs_suffix(attributes: &[KeyValue]) -> String {
    if attributes.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = attributes
        .iter()
        .map(|kv| match &kv.value {
            Value::Str(s) => format!("{}={s:?}", clean(&kv.key)),
            other => format!("{}={other}", clean(&kv.key)),
        })
        .collect();
    format!(" {{{}}}", parts.join(", "))
}

/// Escapes control characters (newlines, ESC, NUL) so user text cannot break the tree or
/// drive the terminal.
fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let escaped = s
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    std::borrow::Cow::Owned(escaped)
}

/// The first 8 hex digits and an ellipsis: enough to tell traces apart on a screen.
fn short_hex(hex: &str) -> String {
    format!("{}…", hex.get(..8).unwrap_or(hex))
}

/// `850ns`, `1.20ms`, `310µs`, `12.5s`: three significant digits in the largest fitting unit.
fn format_duration(nanos: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs")];
    for (scale, unit) in UNITS {
        if nanos >= scale {
            return format!("{}{unit}", three_digits(nanos as f64 / scale as f64));
        }
    }
    format!("{nanos}ns")
}

fn three_digits(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// One line per series: `name{k="v"} 42`, or for histograms
/// `name{k="v"} count=3 sum=1.20ms p50≈310µs p90≈… p99≈…`.
fn render_metrics(snapshot: &MetricsSnapshot) -> String {
    let mut text = String::new();
    for metric in &snapshot.metrics {
        let unit = metric.unit.as_ref();
        match &metric.data {
            MetricData::Counter(points) => {
                for p in points {
                    let _ = writeln!(
                        text,
                        "{}{} {}",
                        metric.name,
                        labels_text(&p.labels),
                        p.value
                    );
                }
            }
            MetricData::Gauge(points) => {
                for p in points {
                    let _ = writeln!(
                        text,
                        "{}{} {}",
                        metric.name,
                        labels_text(&p.labels),
                        format_measure(p.value, unit)
                    );
                }
            }
            MetricData::Histogram(points) => {
                for p in points {
                    let _ = writeln!(
                        text,
                        "{}{} {}",
                        metric.name,
                        labels_text(&p.labels),
                        histogram_summary(p, unit)
                    );
                }
            }
        }
    }
    text
}

fn labels_text(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}={v:?}", clean(k)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

fn histogram_summary(point: &HistogramPoint, unit: &str) -> String {
    let mut text = format!(
        "count={} sum={}",
        point.count,
        format_measure(point.sum, unit)
    );
    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        if let Some(v) = estimate_quantile(point, q) {
            let _ = write!(text, " {name}≈{}", format_measure(v, unit));
        }
    }
    text
}

/// A value in its unit: seconds as a human duration, anything else as a short number.
fn format_measure(v: f64, unit: &str) -> String {
    if unit == "s" && v.is_finite() && v >= 0.0 {
        // `as` saturates, so a huge value cannot wrap.
        return format_duration((v * 1e9).round() as u64);
    }
    if !v.is_finite() || v.fract() == 0.0 {
        return format!("{v}");
    }
    let fixed = format!("{v:.4}");
    fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Quantile by linear interpolation inside the bucket holding the rank, as Prometheus'
/// `histogram_quantile` does; in the +Inf bucket, the highest finite bound. `None` if empty.
fn estimate_quantile(point: &HistogramPoint, q: f64) -> Option<f64> {
    if point.count == 0 {
        return None;
    }
    let rank = q * point.count as f64;
    let mut seen = 0u64;
    for (i, &count) in point.bucket_counts.iter().enumerate() {
        let before = seen;
        seen = seen.saturating_add(count);
        if count == 0 || (seen as f64) < rank {
            continue;
        }
        let upper = *point.bounds.get(i).or(point.bounds.last())?;
        if i >= point.bounds.len() {
            return Some(upper);
        }
        let lower = i
            .checked_sub(1)
            .and_then(|j| point.bounds.get(j))
            .copied()
            .unwrap_or(upper.min(0.0));
        return Some(lower + (upper - lower) * ((rank - before as f64) / count as f64));
    }
    point.bounds.last().copied()
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::export::{CounterPoint, GaugePoint, Resource};
    use crate::Level;

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

    fn span(
        name: &'static str,
        id: u64,
        parent: Option<u64>,
        start_ms: u64,
        end_ms: u64,
    ) -> SpanData {
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
}
