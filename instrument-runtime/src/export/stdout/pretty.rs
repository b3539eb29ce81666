//! Pretty rendering: span trees with their logs, waiting for root spans (see the
//! [module docs](super)).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::export::{
    Batch, HistogramPoint, KeyValue, Labels, LogData, MetricData, MetricsSnapshot, SpanData,
    SpanStatus, Value,
};
use crate::{SpanId, TraceId};

// ---------------------------------------------------------------------------------------------
// Pretty: waiting for root spans
// ---------------------------------------------------------------------------------------------

/// Spans and logs of one trace, waiting to be printed together.
#[derive(Default)]
pub(super) struct TraceRecords {
    pub(super) trace_id: TraceId,
    pub(super) spans: Vec<SpanData>,
    pub(super) logs: Vec<LogData>,
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

/// A waiting trace and when its first record arrived.
pub(super) struct PendingTrace {
    pub(super) records: TraceRecords,
    pub(super) first_seen: Instant,
}

/// Traces waiting for their root span. Invariant: `records` is the sum of the records of
/// every trace in `traces`, and stays at most `limit` after each [`Pending::admit`].
pub(super) struct Pending {
    pub(super) traces: HashMap<TraceId, PendingTrace>,
    pub(super) records: usize,
    /// Of `records`: spans, and logs.
    pub(super) spans: usize,
    pub(super) logs: usize,
    pub(super) limit: usize,
    pub(super) timeout: Duration,
}

impl Pending {
    pub(super) fn new(limit: usize, timeout: Duration) -> Self {
        Pending {
            traces: HashMap::new(),
            records: 0,
            spans: 0,
            logs: 0,
            limit,
            timeout,
        }
    }

    /// Takes the traced records of `batch` in and returns the traces ready to print: those
    /// whose root arrived, those waiting past the timeout, and all of them past the limit.
    pub(super) fn admit(&mut self, batch: &Batch, now: Instant) -> Vec<TraceRecords> {
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
        let traced_logs = batch.logs.iter().filter(|l| l.trace_id.is_some()).count();
        self.spans += batch.spans.len();
        self.logs += traced_logs;
        self.records += batch.spans.len() + traced_logs;
        if self.records > self.limit {
            return self.take_all();
        }
        let timeout = self.timeout;
        self.take_where(|id, t| rooted.contains(id) || now.duration_since(t.first_seen) >= timeout)
    }

    /// The traces whose root did not arrive within the timeout of their first record.
    pub(super) fn take_overdue(&mut self, now: Instant) -> Vec<TraceRecords> {
        let timeout = self.timeout;
        self.take_where(|_, t| now.duration_since(t.first_seen) >= timeout)
    }

    fn entry(&mut self, trace_id: TraceId, now: Instant) -> &mut TraceRecords {
        let pending = self.traces.entry(trace_id).or_insert_with(|| PendingTrace {
            records: TraceRecords {
                trace_id,
                ..TraceRecords::default()
            },
            first_seen: now,
        });
        &mut pending.records
    }

    pub(super) fn take_all(&mut self) -> Vec<TraceRecords> {
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
        self.spans -= taken.iter().map(|t| t.spans.len()).sum::<usize>();
        self.logs -= taken.iter().map(|t| t.logs.len()).sum::<usize>();
        taken.sort_by_key(|t| (t.first_time(), t.trace_id));
        taken
    }
}

// ---------------------------------------------------------------------------------------------
// Pretty: rendering
// ---------------------------------------------------------------------------------------------

/// Plain log lines first (in batch order), then the finished trees, then metrics.
pub(super) fn render_pretty_batch(out: &mut Vec<u8>, batch: &Batch, ready: &[TraceRecords]) {
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
pub(super) struct TraceTree<'a> {
    pub(super) records: &'a TraceRecords,
    /// Span indices by parent span id, by start time.
    pub(super) children: HashMap<SpanId, Vec<usize>>,
    /// Log indices by span id, by timestamp.
    pub(super) logs: HashMap<SpanId, Vec<usize>>,
    /// Logs whose span is not in the trace (or that have no span id).
    pub(super) unattached_logs: Vec<usize>,
    /// Spans without a parent, or whose parent is not in the trace, by start time.
    pub(super) roots: Vec<usize>,
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
pub(super) struct Frame {
    pub(super) span: usize,
    /// Printed before the span itself (`"  ├─ "`).
    pub(super) line_prefix: String,
    /// Printed before everything under the span (`"  │  "`).
    pub(super) child_prefix: String,
}

/// Prints the trees of one trace, then its logs that belong to no span of it. Iterative, with
/// a visited set, so deep nesting cannot overflow the stack and a parent cycle cannot loop.
pub(super) fn render_trace(out: &mut Vec<u8>, records: &TraceRecords) {
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

/// What is left to print: a span (with its subtree) or one log line.
enum Item {
    Span(Frame),
    Log { log: usize, line: String },
}

/// Prints a span, then its logs and child spans interleaved in the order they happened (a log
/// by its timestamp, a child by its start). A child is drawn `└─` when nothing follows it.
pub(super) fn render_subtree(
    text: &mut String,
    tree: &TraceTree<'_>,
    root: usize,
    visited: &mut [bool],
) {
    let mut stack = vec![Item::Span(Frame {
        span: root,
        line_prefix: String::new(),
        child_prefix: "  ".to_owned(),
    })];
    while let Some(item) = stack.pop() {
        let frame = match item {
            Item::Log { log, line } => {
                let _ = writeln!(text, "{line}{}", log_text(&tree.records.logs[log]));
                continue;
            }
            Item::Span(frame) => frame,
        };
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
        let logs: &[usize] = tree.logs.get(&span.span_id).map_or(&[], Vec::as_slice);
        // Merge by time (both lists are sorted); on a tie the log first.
        let mut merged: Vec<(bool, usize)> = Vec::with_capacity(kids.len() + logs.len());
        let (mut k, mut l) = (0, 0);
        while k < kids.len() || l < logs.len() {
            let take_log = l < logs.len()
                && (k == kids.len()
                    || tree.records.logs[logs[l]].timestamp_unix_nanos
                        <= tree.records.spans[kids[k]].start_unix_nanos);
            if take_log {
                merged.push((true, logs[l]));
                l += 1;
            } else {
                merged.push((false, kids[k]));
                k += 1;
            }
        }
        let log_prefix = if kids.is_empty() { "  " } else { "│ " };
        let prefix = &frame.child_prefix;
        for (n, &(is_log, i)) in merged.iter().enumerate().rev() {
            let last = n + 1 == merged.len();
            stack.push(if is_log {
                Item::Log {
                    log: i,
                    line: format!("{prefix}{log_prefix}"),
                }
            } else {
                Item::Span(Frame {
                    span: i,
                    line_prefix: format!("{prefix}{}", if last { "└─ " } else { "├─ " }),
                    child_prefix: format!("{prefix}{}", if last { "   " } else { "│  " }),
                })
            });
        }
    }
}

/// `name [trace 4bf92f35…] 1.20ms ok {k=v}` for a root, `name 310µs {k=v}` below it.
pub(super) fn span_label(span: &SpanData, is_root: bool) -> String {
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
    label.push_str(&attrs_suffix(span.all_attributes()));
    if let (true, Some(parent)) = (is_root, span.parent_span_id) {
        let _ = write!(
            label,
            " (orphan: parent {} not seen)",
            short_hex(&parent.to_string())
        );
    }
    label
}

pub(super) fn log_text(log: &LogData) -> String {
    format!(
        "{} {}{}",
        log.level.as_upper_str(),
        clean(&log.body),
        attrs_suffix(&log.attributes)
    )
}

/// ` {k=v, k2="text"}`, or nothing without attributes. Strings are quoted and escaped.
pub(super) fn attrs_suffix<I>(attributes: I) -> String
where
    I: IntoIterator,
    I::Item: std::ops::Deref<Target = KeyValue>,
{
    let parts: Vec<String> = attributes
        .into_iter()
        .map(|kv| match &kv.value {
            Value::Str(s) => format!("{}={s:?}", clean(&kv.key)),
            other => format!("{}={other}", clean(&kv.key)),
        })
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    format!(" {{{}}}", parts.join(", "))
}

/// Escapes control characters (newlines, ESC, NUL) so user text cannot break the tree or
/// drive the terminal.
pub(super) fn clean(s: &str) -> std::borrow::Cow<'_, str> {
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
pub(super) fn short_hex(hex: &str) -> String {
    format!("{}…", hex.get(..8).unwrap_or(hex))
}

/// `850ns`, `1.20ms`, `310µs`, `12.5s`: three significant digits in the largest fitting unit.
pub(super) fn format_duration(nanos: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs")];
    for (scale, unit) in UNITS {
        if nanos >= scale {
            return format!("{}{unit}", three_digits(nanos as f64 / scale as f64));
        }
    }
    format!("{nanos}ns")
}

pub(super) fn three_digits(v: f64) -> String {
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
pub(super) fn render_metrics(snapshot: &MetricsSnapshot) -> String {
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

pub(super) fn labels_text(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}={v:?}", clean(k)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

pub(super) fn histogram_summary(point: &HistogramPoint, unit: &str) -> String {
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
pub(super) fn format_measure(v: f64, unit: &str) -> String {
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
///
/// The estimate is then kept inside what the counts prove about the observations (they are
/// durations, never negative): every observation is above the lower bound of the lowest
/// non-empty bucket, and none exceeds `sum - (count - 1) x that bound`. So a single call reads
/// exactly its own duration (a lone 125 us call is never "p50 about 300 us").
pub(super) fn estimate_quantile(point: &HistogramPoint, q: f64) -> Option<f64> {
    let raw = interpolate_quantile(point, q)?;
    let first = point.bucket_counts.iter().position(|&c| c > 0)?;
    let floor = first
        .checked_sub(1)
        .and_then(|j| point.bounds.get(j))
        .copied()
        .unwrap_or(0.0)
        .max(0.0);
    let ceiling = point.sum - (point.count - 1) as f64 * floor;
    if !(ceiling.is_finite() && ceiling >= floor) {
        return Some(raw); // a sum that does not fit the counts (torn read): no clamp
    }
    Some(raw.clamp(floor, ceiling))
}

fn interpolate_quantile(point: &HistogramPoint, q: f64) -> Option<f64> {
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
