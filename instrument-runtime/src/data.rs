//! What exporters receive: finished spans, log records and metric snapshots, fully resolved
//! (wall-clock times, static metadata looked up), so an exporter only encodes.

use std::borrow::Cow;
use std::sync::Arc;

use crate::{Level, SpanId, TraceId};

/// An attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// A float (may be NaN or infinite: exporters must encode those safely).
    F64(f64),
    /// A string, already truncated to the configured maximum length.
    Str(Cow<'static, str>),
}

impl From<&'static str> for Value {
    fn from(s: &'static str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(Cow::Owned(s))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::F64(v)
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

/// A key and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    /// Attribute name.
    pub key: Cow<'static, str>,
    /// Attribute value.
    pub value: Value,
}

impl KeyValue {
    /// Builds a key-value pair.
    pub fn new(key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Outcome of a span, as OpenTelemetry's span status.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum SpanStatus {
    /// Nothing was said (the function returned normally, or is not `Result`-returning).
    #[default]
    Unset,
    /// The function returned `Ok`.
    Ok,
    /// The function returned `Err`, or panicked; the message says which.
    Error {
        /// Error description (the error's `Display` with `err`, or `"panicked"`).
        message: Cow<'static, str>,
    },
}

/// A finished span.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanData {
    /// Trace this span belongs to.
    pub trace_id: TraceId,
    /// This span's id.
    pub span_id: SpanId,
    /// The parent span, `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// W3C trace flags (bit 0: sampled).
    pub trace_flags: u8,
    /// Span name (the function name unless `name = "..."` was given).
    pub name: &'static str,
    /// Target (the module path unless `target = "..."` was given).
    pub target: &'static str,
    /// `module_path!()` of the instrumented function.
    pub module_path: &'static str,
    /// Source file of the instrumented function.
    pub file: &'static str,
    /// Source line of the instrumented function.
    pub line: u32,
    /// Level of the span.
    pub level: Level,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_unix_nanos: u64,
    /// End, in nanoseconds since the Unix epoch; never before the start.
    pub end_unix_nanos: u64,
    /// Status.
    pub status: SpanStatus,
    /// Attributes: fields, the return value with `ret`, and fields recorded later through
    /// [`current_span`](crate::current_span) (at most
    /// [`MAX_SPAN_ATTRIBUTES`](crate::context::handle::MAX_SPAN_ATTRIBUTES)). The call's
    /// labels are not in here but in [`SpanData::labels`]: an exporter reads both through
    /// [`SpanData::all_attributes`].
    pub attributes: Vec<KeyValue>,
    /// The call's metric labels (`#[instrument(labels(..))]`), which are also span
    /// attributes. Kept as the callsite's static label table and the call's value index, so
    /// a labelled span costs no allocation; [`SpanData::all_attributes`] yields them after
    /// [`SpanData::attributes`].
    pub labels: SpanLabels,
    /// What the span represents (`Internal` unless set: `kind = "server"`, a manual span's
    /// [`kind`](crate::SpanBuilder::kind), or the `otel.kind` field of a `tracing` span).
    pub kind: SpanKind,
    /// Timestamped events added during the span, in the order they were added.
    pub events: Vec<SpanEvent>,
    /// Links to other spans (`follows_from`).
    pub links: Vec<SpanLink>,
    /// Attributes, events and links refused because the span reached its limit.
    pub dropped: DroppedCounts,
}

impl Default for SpanData {
    /// An empty, invalid span (for building test data with `..Default::default()`).
    fn default() -> Self {
        SpanData {
            trace_id: TraceId::INVALID,
            span_id: SpanId::INVALID,
            parent_span_id: None,
            trace_flags: 0,
            name: "",
            target: "",
            module_path: "",
            file: "",
            line: 0,
            level: Level::Info,
            start_unix_nanos: 0,
            end_unix_nanos: 0,
            status: SpanStatus::Unset,
            attributes: Vec::new(),
            labels: SpanLabels::NONE,
            kind: SpanKind::Internal,
            events: Vec::new(),
            links: Vec::new(),
            dropped: DroppedCounts::default(),
        }
    }
}

/// What a span represents, as OpenTelemetry's span kind (backends build service maps from
/// `Server`/`Client` and `Producer`/`Consumer` pairs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    /// An operation inside the application (the default).
    #[default]
    Internal,
    /// Handling a synchronous request from a remote client.
    Server,
    /// A synchronous request to a remote server.
    Client,
    /// Sending a message for asynchronous processing.
    Producer,
    /// Processing a message sent by a producer.
    Consumer,
}

impl SpanKind {
    /// The lowercase name (`"server"`), as the attribute and the stdout exporter spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    /// Parses a lowercase name (`"server"`, ...); `None` for anything else.
    pub fn parse(s: &str) -> Option<SpanKind> {
        Some(match s {
            "internal" => SpanKind::Internal,
            "server" => SpanKind::Server,
            "client" => SpanKind::Client,
            "producer" => SpanKind::Producer,
            "consumer" => SpanKind::Consumer,
            _ => return None,
        })
    }
}

/// A timestamped event inside a span.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanEvent {
    /// Event name.
    pub name: Cow<'static, str>,
    /// When it happened, in nanoseconds since the Unix epoch.
    pub timestamp_unix_nanos: u64,
    /// Its attributes (at most
    /// [`MAX_EVENT_ATTRIBUTES`](crate::context::handle::MAX_EVENT_ATTRIBUTES)).
    pub attributes: Vec<KeyValue>,
    /// Attributes refused because the event reached its limit.
    pub dropped_attributes_count: u32,
}

/// A link from a span to another span it follows from (a batch job and the requests that
/// queued its items, a consumer and the producer's span).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanLink {
    /// The linked span's trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// Its W3C trace flags.
    pub trace_flags: u8,
}

/// Per-span counts of what its limits refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DroppedCounts {
    /// Attributes refused (beyond the limit).
    pub attributes: u32,
    /// Events refused.
    pub events: u32,
    /// Links refused.
    pub links: u32,
}

impl SpanData {
    /// Duration in nanoseconds (monotonic; never negative).
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos - self.start_unix_nanos
    }

    /// Every attribute of the span: [`SpanData::attributes`], then the call's
    /// [`labels`](SpanData::labels) as string attributes. Nothing is allocated: stored
    /// attributes are borrowed, a label is a [`KeyValue`] of two `&'static str`.
    pub fn all_attributes(&self) -> impl Iterator<Item = Cow<'_, KeyValue>> + '_ {
        self.attributes
            .iter()
            .map(Cow::Borrowed)
            .chain(self.labels.iter().map(|(key, value)| {
                Cow::Owned(KeyValue {
                    key: Cow::Borrowed(key),
                    value: Value::Str(Cow::Borrowed(value)),
                })
            }))
    }

    /// How many attributes [`SpanData::all_attributes`] yields.
    pub fn attribute_count(&self) -> usize {
        self.attributes.len() + self.labels.len()
    }
}

/// The metric labels of one call, as span attributes: the callsite's static label table and
/// the call's value index (two words, `Copy`). Iterate with [`SpanLabels::iter`].
#[derive(Clone, Copy, Default)]
pub struct SpanLabels {
    callsite: Option<&'static crate::callsite::Callsite>,
    index: u32,
}

impl SpanLabels {
    /// No labels.
    pub const NONE: SpanLabels = SpanLabels {
        callsite: None,
        index: 0,
    };

    /// The labels of `callsite` for its label value index `index` (made by the exporter
    /// thread from a ring record).
    pub(crate) fn new(callsite: &'static crate::callsite::Callsite, index: u32) -> SpanLabels {
        SpanLabels {
            callsite: (!callsite.labels().is_empty()).then_some(callsite),
            index,
        }
    }

    /// `(key, value)` of each label, in the order the labels were declared. The `error`
    /// label is shown only for an `Err` (its value index 0 means "no error").
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.callsite
            .into_iter()
            .flat_map(|cs| cs.label_digits(self.index as usize))
            .filter(|(l, digit)| !(l.key == "error" && *digit == 0))
            .map(|(l, digit)| (l.key, (l.value_name)(digit)))
    }

    /// Number of labels [`SpanLabels::iter`] yields.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// `true` when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for SpanLabels {
    /// Equal when they yield the same `(key, value)` pairs.
    fn eq(&self, other: &SpanLabels) -> bool {
        self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for SpanLabels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A log record (from the `log` bridge, or made by `err`).
#[derive(Clone, Debug, PartialEq)]
pub struct LogData {
    /// When the record was made, in nanoseconds since the Unix epoch.
    pub timestamp_unix_nanos: u64,
    /// Severity.
    pub level: Level,
    /// `log` target.
    pub target: Cow<'static, str>,
    /// Formatted message.
    pub body: String,
    /// Trace of the span that was current when the record was made.
    pub trace_id: Option<TraceId>,
    /// Span that was current when the record was made.
    pub span_id: Option<SpanId>,
    /// W3C trace flags of that span.
    pub trace_flags: u8,
    /// Module path, when known.
    pub module_path: Option<Cow<'static, str>>,
    /// Source file, when known.
    pub file: Option<Cow<'static, str>>,
    /// Source line, when known.
    pub line: Option<u32>,
    /// Extra attributes.
    pub attributes: Vec<KeyValue>,
}

/// Label set of one series: `(name, value)` pairs in a fixed order.
pub type Labels = Vec<(Cow<'static, str>, Cow<'static, str>)>;

/// One counter series.
#[derive(Clone, Debug, PartialEq)]
pub struct CounterPoint {
    /// The series' labels.
    pub labels: Labels,
    /// Cumulative count since the process (or pipeline) started.
    pub value: u64,
}

/// One gauge series.
#[derive(Clone, Debug, PartialEq)]
pub struct GaugePoint {
    /// The series' labels.
    pub labels: Labels,
    /// Current value.
    pub value: f64,
}

/// One histogram series (explicit buckets, cumulative temporality).
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramPoint {
    /// The series' labels.
    pub labels: Labels,
    /// Upper bounds of the buckets, ascending; the last bucket (+Inf) is implied.
    pub bounds: &'static [f64],
    /// Per-bucket counts (not cumulative), `bounds.len() + 1` entries.
    pub bucket_counts: Vec<u64>,
    /// Sum of all observations.
    pub sum: f64,
    /// Number of observations (the sum of `bucket_counts`).
    pub count: u64,
    /// At most one exemplar per bucket, ascending by bucket: the latest call counted in that
    /// bucket whose span was exported (see [`Exemplar`]). Empty when no span was exported.
    pub exemplars: Vec<Exemplar>,
    /// The same calls in base-2 exponential buckets, when the pipeline records them
    /// ([`Builder::exponential_histograms`](crate::Builder::exponential_histograms)); `None`
    /// otherwise. The OTLP exporter sends these instead of the explicit buckets.
    pub exponential: Option<ExponentialBuckets>,
}

/// Base-2 exponential buckets of one histogram series (OTLP's `ExponentialHistogram` data
/// point, positive range only: latencies are never negative).
///
/// Bucket `offset + k` holds the `counts[k]` observations in
/// `(2^((offset + k) / 2^scale), 2^((offset + k + 1) / 2^scale)]`. The exporter's snapshot
/// holds them at the recording scale
/// ([`EXPONENTIAL_SCALE`](crate::EXPONENTIAL_SCALE), 8 buckets per octave), trimmed to the
/// populated range; the OTLP exporter merges adjacent buckets to fit its `max_size`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExponentialBuckets {
    /// Resolution: `2^scale` buckets per power of two.
    pub scale: i32,
    /// Observations of exactly 0 (a 0 ns latency).
    pub zero_count: u64,
    /// Index of the bucket `counts[0]` is.
    pub offset: i32,
    /// Per-bucket counts (not cumulative); `zero_count + sum(counts)` is the point's count.
    pub counts: Vec<u64>,
}

/// One call behind a histogram bucket: the ids of its span, its latency and when it ended.
///
/// The guarantee: an exemplar names a span that was sampled, was accepted into its thread's
/// ring (a span dropped before that, because the ring was full, the pipeline was shut down or
/// the call was re-entrant, is never an exemplar), was drained by the exporter thread, and was
/// handed to at least one exporter that exports spans (its [`SinkFilter`](crate::SinkFilter)
/// takes the span and [`Exporter::exports_spans`](crate::Exporter::exports_spans) is `true`;
/// the Prometheus exporter's is `false`). So with no span exporter there are no exemplars. What
/// is not covered: that exporter failing to deliver the span afterwards (collector down,
/// circuit open, its queue full), which its stats count as dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// Index of the bucket the call was counted in (`bounds.len()` is `+Inf`).
    pub bucket: usize,
    /// The span's trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
    /// The call's latency, in the histogram's unit (seconds).
    pub value: f64,
    /// When the call ended, in nanoseconds since the Unix epoch.
    pub time_unix_nanos: u64,
}

/// Data of one metric.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricData {
    /// A monotonic counter.
    Counter(Vec<CounterPoint>),
    /// A gauge.
    Gauge(Vec<GaugePoint>),
    /// An explicit-bucket histogram.
    Histogram(Vec<HistogramPoint>),
}

/// One metric with all its series.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Metric name, e.g. `function_calls_total`.
    pub name: Cow<'static, str>,
    /// Human description.
    pub description: Cow<'static, str>,
    /// UCUM unit (`s`, `1`, `{record}`).
    pub unit: Cow<'static, str>,
    /// The series.
    pub data: MetricData,
}

/// A point-in-time view of every metric, cumulative since `start_unix_nanos`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MetricsSnapshot {
    /// When counting started.
    pub start_unix_nanos: u64,
    /// When this snapshot was taken.
    pub time_unix_nanos: u64,
    /// The metrics.
    pub metrics: Vec<Metric>,
}

impl MetricsSnapshot {
    /// Looks a metric up by name.
    pub fn get(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

/// Who is sending: `service.name` and other resource attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// `service.name`.
    pub service_name: String,
    /// Other attributes (from the builder and `OTEL_RESOURCE_ATTRIBUTES`).
    pub attributes: Vec<KeyValue>,
}

/// What one call of [`Exporter::export`](crate::Exporter::export) receives.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Finished spans, in the order they ended per thread.
    pub spans: Vec<SpanData>,
    /// Log records.
    pub logs: Vec<LogData>,
    /// A metrics snapshot, at the metrics interval and at every flush.
    pub metrics: Option<MetricsSnapshot>,
    /// The resource every item belongs to.
    pub resource: Option<Arc<Resource>>,
}

impl Batch {
    /// Number of records (spans + logs) in the batch. Metric snapshots are not records.
    pub fn records(&self) -> usize {
        self.spans.len() + self.logs.len()
    }
    /// `true` when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty() && self.logs.is_empty() && self.metrics.is_none()
    }
}

/// A signal an exporter can take (see [`SinkFilter`](crate::export::SinkFilter)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignalKind {
    /// Spans.
    Traces,
    /// Log records.
    Logs,
    /// Metric snapshots.
    Metrics,
}
