//! The text exposition format 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format>).
//!
//! Rendering goes through a small model first: families keyed by their Prometheus name and
//! series keyed by their translated, sorted labels. The `BTreeMap`s give the deterministic
//! order, and they also settle what translation can make collide (`a.b` and `a_b`).

use std::collections::BTreeMap;

use super::names::{label_name, metric_name, Kind};
use crate::export::{Exemplar, HistogramPoint, Labels, Metric, MetricData, MetricsSnapshot};

/// Translated label pairs of one series, sorted by name.
type SeriesKey = Vec<(String, String)>;

/// One `# TYPE` block.
struct Family<'a> {
    kind: Kind,
    help: String,
    series: BTreeMap<SeriesKey, Sample<'a>>,
}

/// The value(s) of one series.
enum Sample<'a> {
    Counter(u64),
    Gauge(f64),
    Histogram(Merged<'a>),
}

/// A histogram series: one point, or the sum of points with the same bounds that ended up
/// with the same labels.
struct Merged<'a> {
    bounds: &'a [f64],
    bucket_counts: Vec<u64>,
    sum: f64,
    count: u64,
    /// At most one per bucket, ascending by bucket.
    exemplars: Vec<&'a Exemplar>,
}

impl<'a> Merged<'a> {
    fn of(point: &'a HistogramPoint) -> Self {
        Merged {
            bounds: point.bounds,
            bucket_counts: point.bucket_counts.clone(),
            sum: point.sum,
            count: point.count,
            exemplars: point.exemplars.iter().collect(),
        }
    }

    /// Keeps the later exemplar of each bucket the two have.
    fn merge_exemplars(&mut self, other: Vec<&'a Exemplar>) {
        for e in other {
            match self.exemplars.iter_mut().find(|m| m.bucket == e.bucket) {
                Some(mine) if mine.time_unix_nanos < e.time_unix_nanos => *mine = e,
                Some(_) => {}
                None => self.exemplars.push(e),
            }
        }
        self.exemplars.sort_by_key(|e| e.bucket);
    }
}

impl<'a> Sample<'a> {
    /// Folds `other` (a sample with the same name and labels) into this one: counters and
    /// histograms with the same bounds are summed (two callsites that render the same labels,
    /// `impl A { fn new() }` and `impl B { fn new() }` in one module, are one series of calls);
    /// a gauge, or a histogram with other bounds, cannot be merged exactly and the first is
    /// kept. Either way the exposition never has two samples with one label set.
    fn merge(&mut self, other: Sample<'a>) {
        match (self, other) {
            (Sample::Counter(a), Sample::Counter(b)) => *a = a.saturating_add(b),
            (Sample::Histogram(a), Sample::Histogram(b)) if a.bounds == b.bounds => {
                let n = a.bucket_counts.len().max(b.bucket_counts.len());
                a.bucket_counts.resize(n, 0);
                for (i, v) in b.bucket_counts.iter().enumerate() {
                    a.bucket_counts[i] = a.bucket_counts[i].saturating_add(*v);
                }
                a.sum += b.sum;
                a.count = a.count.saturating_add(b.count);
                a.merge_exemplars(b.exemplars);
            }
            _ => {}
        }
    }
}

/// Renders `snapshot` in the Prometheus text exposition format 0.0.4.
///
/// Families are sorted by name and series by labels, so the same snapshot always gives the
/// same text. Names are translated to legacy Prometheus names (see the [module
/// docs](super#names)). A metric whose translated name is taken by a metric of another type is
/// left out (Prometheus cannot have both); series that end up with the same name and labels
/// (after translation, or two callsites with the same function and module) are merged:
/// counters and same-bounds histograms summed, otherwise the first (by original metric name)
/// kept, so no label set is ever rendered twice. Histogram buckets are cumulative and end with `+Inf`, whose
/// value is also `_count`.
///
/// ```
/// use std::borrow::Cow;
/// use instrument_runtime::export::prometheus::render;
/// use instrument_runtime::export::{CounterPoint, Metric, MetricData, MetricsSnapshot};
///
/// let snapshot = MetricsSnapshot {
///     metrics: vec![Metric {
///         name: "otel.sdk.processor.span.processed".into(),
///         description: "Spans handed to the exporter.".into(),
///         unit: "{span}".into(),
///         data: MetricData::Counter(vec![CounterPoint {
///             labels: vec![(Cow::Borrowed("error.type"), Cow::Borrowed("ring_full"))],
///             value: 3,
///         }]),
///     }],
///     ..MetricsSnapshot::default()
/// };
/// let text = render(&snapshot);
/// assert_eq!(
///     text.lines().collect::<Vec<_>>(),
///     [
///         "# HELP otel_sdk_processor_span_processed_total Spans handed to the exporter.",
///         "# TYPE otel_sdk_processor_span_processed_total counter",
///         r#"otel_sdk_processor_span_processed_total{error_type="ring_full"} 3"#,
///     ]
/// );
/// ```
#[must_use]
pub fn render(snapshot: &MetricsSnapshot) -> String {
    let mut out = String::new();
    for (name, family) in &families(snapshot) {
        write_family(&mut out, name, family, false);
    }
    out
}

/// Renders `snapshot` in the OpenMetrics 1.0 text format, without the closing `# EOF` line
/// (so several renders can be joined; the endpoint adds it). The same families and samples
/// as [`render`]; a counter's family is named without `_total` (its samples keep it), and
/// `HELP` text escapes `"` too.
#[must_use]
pub fn render_openmetrics(snapshot: &MetricsSnapshot) -> String {
    let mut out = String::new();
    for (name, family) in &families(snapshot) {
        write_family(&mut out, name, family, true);
    }
    out
}

/// Groups every metric into families by translated name, original names in sorted order so
/// that which one wins a collision does not depend on the snapshot's order.
fn families(snapshot: &MetricsSnapshot) -> BTreeMap<String, Family<'_>> {
    let mut metrics: Vec<&Metric> = snapshot.metrics.iter().collect();
    metrics.sort_by(|a, b| a.name.cmp(&b.name));
    let mut families = BTreeMap::new();
    for metric in metrics {
        add_metric(&mut families, metric);
    }
    families
}

fn add_metric<'a>(families: &mut BTreeMap<String, Family<'a>>, metric: &'a Metric) {
    let kind = kind_of(&metric.data);
    let name = metric_name(&metric.name, &metric.unit, kind);
    let family = families.entry(name).or_insert_with(|| Family {
        kind,
        help: help_text(metric),
        series: BTreeMap::new(),
    });
    if family.kind != kind {
        return;
    }
    for (labels, sample) in samples(&metric.data) {
        let key = series_key(labels, kind);
        match family.series.entry(key) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(sample);
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => slot.get_mut().merge(sample),
        }
    }
}

fn kind_of(data: &MetricData) -> Kind {
    match data {
        MetricData::Counter(_) => Kind::Counter,
        MetricData::Gauge(_) => Kind::Gauge,
        MetricData::Histogram(_) => Kind::Histogram,
    }
}

/// `promtool` flags a family without help text, so an empty description falls back to the
/// metric's original (OpenTelemetry) name.
fn help_text(metric: &Metric) -> String {
    let help = if metric.description.trim().is_empty() {
        &metric.name
    } else {
        &metric.description
    };
    help.to_string()
}

fn samples(data: &MetricData) -> Vec<(&Labels, Sample<'_>)> {
    match data {
        MetricData::Counter(points) => points
            .iter()
            .map(|p| (&p.labels, Sample::Counter(p.value)))
            .collect(),
        MetricData::Gauge(points) => points
            .iter()
            .map(|p| (&p.labels, Sample::Gauge(p.value)))
            .collect(),
        MetricData::Histogram(points) => points
            .iter()
            .map(|p| (&p.labels, Sample::Histogram(Merged::of(p))))
            .collect(),
    }
}

/// Translates and sorts a series' labels. Labels whose names collide after translation
/// (`error.type` and `error_type`) are merged, values joined with `;` in the order of the
/// original keys, as the OpenTelemetry compatibility spec says; Prometheus rejects a sample
/// with a label name twice.
fn series_key(labels: &Labels, kind: Kind) -> SeriesKey {
    let mut pairs: Vec<(String, &str, &str)> = labels
        .iter()
        .map(|(key, value)| (label_name(key, kind), key.as_ref(), value.as_ref()))
        .collect();
    pairs.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut key: SeriesKey = Vec::with_capacity(pairs.len());
    for (name, _, value) in pairs {
        match key.last_mut() {
            Some((last, merged)) if *last == name => {
                merged.push(';');
                merged.push_str(value);
            }
            _ => key.push((name, value.to_owned())),
        }
    }
    key
}

fn write_family(out: &mut String, name: &str, family: &Family<'_>, openmetrics: bool) {
    let family_name = match (openmetrics, family.kind) {
        (true, Kind::Counter) => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    let help = if openmetrics {
        escape(&family.help, true)
    } else {
        escape_help(&family.help)
    };
    push_all(out, &["# HELP ", family_name, " ", &help, "\n"]);
    push_all(
        out,
        &["# TYPE ", family_name, " ", family.kind.as_str(), "\n"],
    );
    for (labels, sample) in &family.series {
        match sample {
            Sample::Counter(value) => write_sample(out, name, labels, None, &value.to_string()),
            Sample::Gauge(value) => write_sample(out, name, labels, None, &format_float(*value)),
            Sample::Histogram(point) => write_histogram(out, name, labels, point, openmetrics),
        }
    }
}

/// Cumulative `_bucket` lines (only strictly increasing finite bounds: a repeated or
/// non-finite bound would make a duplicate or invalid series), then `+Inf`, `_sum`, `_count`.
/// `+Inf` and `_count` are the larger of `count` and the bucket total, so buckets never
/// decrease and `+Inf == _count` as Prometheus requires, even for a torn snapshot.
///
/// In OpenMetrics a `_bucket` line carries its bucket's exemplar
/// (`... 3 # {trace_id="..",span_id=".."} 0.0042 1700000000.123456789`); the text format
/// 0.0.4 has no exemplars. A bucket whose line is left out passes its exemplar (the later one)
/// to the next line, whose range contains it.
fn write_histogram(
    out: &mut String,
    name: &str,
    labels: &SeriesKey,
    point: &Merged<'_>,
    openmetrics: bool,
) {
    let bucket = format!("{name}_bucket");
    let mut cumulative = 0u64;
    let mut last_bound = f64::NEG_INFINITY;
    let mut exemplars = Carry {
        rest: &point.exemplars,
        carried: None,
    };
    for (i, &bound) in point.bounds.iter().enumerate() {
        let in_bucket = point.bucket_counts.get(i).copied().unwrap_or(0);
        cumulative = cumulative.saturating_add(in_bucket);
        let exemplar = exemplars.up_to(i);
        if bound.is_finite() && bound > last_bound {
            last_bound = bound;
            let le = format_float(bound);
            let le = Some(("le", le.as_str()));
            let value = with_exemplar(cumulative.to_string(), exemplar.filter(|_| openmetrics));
            write_sample(out, &bucket, labels, le, &value);
            exemplars.carried = None;
        }
    }
    let total: u64 = point
        .bucket_counts
        .iter()
        .fold(0, |a, &b| a.saturating_add(b));
    let count = total.max(point.count).to_string();
    let exemplar = exemplars.up_to(usize::MAX).filter(|_| openmetrics);
    let inf = with_exemplar(count.clone(), exemplar);
    write_sample(out, &bucket, labels, Some(("le", "+Inf")), &inf);
    write_sample(
        out,
        &format!("{name}_sum"),
        labels,
        None,
        &format_float(point.sum),
    );
    write_sample(out, &format!("{name}_count"), labels, None, &count);
}

/// The exemplars not yet written, and the latest of buckets whose line was left out.
struct Carry<'a> {
    rest: &'a [&'a Exemplar],
    carried: Option<&'a Exemplar>,
}

impl<'a> Carry<'a> {
    /// The latest exemplar of buckets up to `bucket` not yet written.
    fn up_to(&mut self, bucket: usize) -> Option<&'a Exemplar> {
        while let Some((&e, rest)) = self.rest.split_first() {
            if e.bucket > bucket {
                break;
            }
            self.rest = rest;
            if self
                .carried
                .is_none_or(|c| c.time_unix_nanos <= e.time_unix_nanos)
            {
                self.carried = Some(e);
            }
        }
        self.carried
    }
}

/// A bucket's value, followed by its exemplar in the OpenMetrics form: the span's ids as
/// lowercase hex, the latency in seconds, and the call's end in seconds since the epoch.
fn with_exemplar(mut value: String, exemplar: Option<&Exemplar>) -> String {
    if let Some(e) = exemplar {
        let secs = e.time_unix_nanos / 1_000_000_000;
        let nanos = e.time_unix_nanos % 1_000_000_000;
        value.push_str(&format!(
            " # {{trace_id=\"{}\",span_id=\"{}\"}} {} {secs}.{nanos:09}",
            e.trace_id,
            e.span_id,
            format_float(e.value)
        ));
    }
    value
}

/// `name{a="x",le="0.5"} value`
fn write_sample(
    out: &mut String,
    name: &str,
    labels: &SeriesKey,
    extra: Option<(&str, &str)>,
    value: &str,
) {
    out.push_str(name);
    let pairs = labels.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let mut all = pairs.chain(extra).peekable();
    if all.peek().is_some() {
        out.push('{');
        for (i, (key, val)) in all.enumerate() {
            let sep = if i == 0 { "" } else { "," };
            push_all(out, &[sep, key, "=\"", &escape_label_value(val), "\""]);
        }
        out.push('}');
    }
    push_all(out, &[" ", value, "\n"]);
}

fn push_all(out: &mut String, parts: &[&str]) {
    for part in parts {
        out.push_str(part);
    }
}

/// In a label value, `\`, `"` and a line feed are escaped.
fn escape_label_value(value: &str) -> String {
    escape(value, true)
}

/// In help text, `\` and a line feed are escaped (a `"` is not).
fn escape_help(help: &str) -> String {
    escape(help, false)
}

fn escape(text: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// Formats a float as Prometheus' Go code does (`strconv.FormatFloat(v, 'g', -1, 64)`), so an
/// `le` label reads `0.005`, `1` or `1e+06` exactly as `client_golang` writes it: the shortest
/// digits that round-trip, in exponent form when the exponent is below -4 or at least 6
/// (`%g`'s rule with Go's precision 6 for the shortest form). NaN and infinities are `NaN`,
/// `+Inf`, `-Inf`.
fn format_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        let inf = if value > 0.0 { "+Inf" } else { "-Inf" };
        return inf.to_owned();
    }
    let scientific = format!("{value:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return format!("{value}");
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        format!("{value}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::export::{CounterPoint, GaugePoint};

    fn labels(pairs: &[(&'static str, &'static str)]) -> Labels {
        pairs
            .iter()
            .map(|&(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
            .collect()
    }

    fn metric(name: &'static str, unit: &'static str, data: MetricData) -> Metric {
        Metric {
            name: name.into(),
            description: "Help.".into(),
            unit: unit.into(),
            data,
        }
    }

    fn snapshot(metrics: Vec<Metric>) -> MetricsSnapshot {
        MetricsSnapshot {
            metrics,
            ..MetricsSnapshot::default()
        }
    }

    fn counter(labels: Labels, value: u64) -> CounterPoint {
        CounterPoint { labels, value }
    }

    fn gauge(labels: Labels, value: f64) -> GaugePoint {
        GaugePoint { labels, value }
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    const BOUNDS: &[f64] = &[0.005, 0.01, 0.1, 1.0];

    #[test]
    fn counter_family() {
        let points = vec![counter(labels(&[("function", "f"), ("result", "ok")]), 42)];
        let m = metric(
            "function_calls_total",
            "{call}",
            MetricData::Counter(points),
        );
        assert_eq!(
            lines(&render(&snapshot(vec![m]))),
            [
                "# HELP function_calls_total Help.",
                "# TYPE function_calls_total counter",
                "function_calls_total{function=\"f\",result=\"ok\"} 42",
            ]
        );
    }

    fn exemplar(bucket: usize, span: u64, time: u64) -> Exemplar {
        Exemplar {
            bucket,
            trace_id: crate::TraceId::from_u128(0xabc),
            span_id: crate::SpanId::from_u64(span),
            value: 0.25,
            time_unix_nanos: time,
        }
    }

    #[test]
    fn openmetrics_buckets_carry_exemplars_and_the_text_format_does_not() {
        let point = |exemplars| HistogramPoint {
            labels: labels(&[("function", "f")]),
            bounds: &[0.1, 0.1, 1.0],
            bucket_counts: vec![0, 1, 2, 3],
            sum: 9.0,
            count: 6,
            exemplars,
            exponential: None,
        };
        // Bucket 1 has no line of its own (its bound repeats): its exemplar goes to `le=1`,
        // unless bucket 2's own is later. Two series with the same labels merge exemplars.
        let a = point(vec![exemplar(1, 0x11, 5_000_000_000), exemplar(3, 0x33, 7)]);
        let b = point(vec![exemplar(2, 0x22, 4_000_000_000), exemplar(3, 0x44, 9)]);
        let m = metric("d", "s", MetricData::Histogram(vec![a, b]));
        let om = render_openmetrics(&snapshot(vec![m.clone()]));
        let tid = "00000000000000000000000000000abc";
        assert_eq!(
            lines(&om)[2..6],
            [
                "d_seconds_bucket{function=\"f\",le=\"0.1\"} 0".to_owned(),
                format!(
                    "d_seconds_bucket{{function=\"f\",le=\"1\"}} 6 # \
                     {{trace_id=\"{tid}\",span_id=\"0000000000000011\"}} 0.25 5.000000000"
                ),
                format!(
                    "d_seconds_bucket{{function=\"f\",le=\"+Inf\"}} 12 # \
                     {{trace_id=\"{tid}\",span_id=\"0000000000000044\"}} 0.25 0.000000009"
                ),
                "d_seconds_sum{function=\"f\"} 18".to_owned(),
            ]
        );
        assert!(
            !render(&snapshot(vec![m])).contains("trace_id"),
            "0.0.4 has no exemplars"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf() {
        let point = HistogramPoint {
            labels: labels(&[("function", "f")]),
            bounds: BOUNDS,
            bucket_counts: vec![1, 2, 3, 4, 5],
            sum: 12.5,
            count: 15,
            exemplars: Vec::new(),
            exponential: None,
        };
        let m = metric(
            "function_calls_duration_seconds",
            "s",
            MetricData::Histogram(vec![point]),
        );
        let name = "function_calls_duration_seconds";
        assert_eq!(
            lines(&render(&snapshot(vec![m]))),
            [
                format!("# HELP {name} Help."),
                format!("# TYPE {name} histogram"),
                format!("{name}_bucket{{function=\"f\",le=\"0.005\"}} 1"),
                format!("{name}_bucket{{function=\"f\",le=\"0.01\"}} 3"),
                format!("{name}_bucket{{function=\"f\",le=\"0.1\"}} 6"),
                format!("{name}_bucket{{function=\"f\",le=\"1\"}} 10"),
                format!("{name}_bucket{{function=\"f\",le=\"+Inf\"}} 15"),
                format!("{name}_sum{{function=\"f\"}} 12.5"),
                format!("{name}_count{{function=\"f\"}} 15"),
            ]
        );
    }

    #[test]
    fn torn_histogram_still_has_inf_equal_to_count() {
        let point = HistogramPoint {
            labels: Labels::new(),
            bounds: &[1.0, 1.0, f64::INFINITY],
            bucket_counts: vec![2, 3],
            sum: 1.0,
            count: 4,
            exemplars: Vec::new(),
            exponential: None,
        };
        let text = render(&snapshot(vec![metric("h", "", hist(point))]));
        assert_eq!(
            lines(&text)[2..],
            [
                "h_bucket{le=\"1\"} 2",
                "h_bucket{le=\"+Inf\"} 5",
                "h_sum 1",
                "h_count 5",
            ]
        );
    }

    fn hist(point: HistogramPoint) -> MetricData {
        MetricData::Histogram(vec![point])
    }

    #[test]
    fn label_values_are_escaped() {
        let value = "a \"quoted\" \\path\\\nnext";
        let points = vec![gauge(labels(&[("v", value)]), 1.0)];
        let text = render(&snapshot(vec![metric("g", "", MetricData::Gauge(points))]));
        assert_eq!(lines(&text)[2], r#"g{v="a \"quoted\" \\path\\\nnext"} 1"#);
    }

    #[test]
    fn help_is_escaped_and_never_empty() {
        let mut m = metric("g", "", MetricData::Gauge(vec![gauge(Labels::new(), 0.0)]));
        m.description = "line \"one\"\nback\\slash".into();
        let with_help = render(&snapshot(vec![m.clone()]));
        assert_eq!(lines(&with_help)[0], r#"# HELP g line "one"\nback\\slash"#);
        m.description = "".into();
        m.name = "queue.fill".into();
        let without = render(&snapshot(vec![m]));
        assert_eq!(lines(&without)[0], "# HELP queue_fill queue.fill");
    }

    #[test]
    fn special_float_values() {
        let points = vec![
            gauge(labels(&[("k", "nan")]), f64::NAN),
            gauge(labels(&[("k", "neg")]), f64::NEG_INFINITY),
            gauge(labels(&[("k", "pos")]), f64::INFINITY),
        ];
        let text = render(&snapshot(vec![metric("g", "", MetricData::Gauge(points))]));
        assert_eq!(
            lines(&text)[2..],
            ["g{k=\"nan\"} NaN", "g{k=\"neg\"} -Inf", "g{k=\"pos\"} +Inf"]
        );
    }

    #[test]
    fn floats_are_formatted_like_go() {
        let cases = [
            (0.005, "0.005"),
            (1.0, "1"),
            (2.5, "2.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (100_000.0, "100000"),
            (1e6, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (1.5e300, "1.5e+300"),
            (-0.25, "-0.25"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_float(value), expected, "{value:?}");
        }
    }

    #[test]
    fn names_are_translated_and_families_sorted() {
        let processed = metric(
            "otel.sdk.processor.span.processed",
            "{span}",
            MetricData::Counter(vec![counter(labels(&[("error.type", "ring_full")]), 7)]),
        );
        let fill = metric(
            "queue.fill",
            "1",
            MetricData::Gauge(vec![gauge(Labels::new(), 0.5)]),
        );
        let text = render(&snapshot(vec![processed, fill]));
        assert_eq!(
            lines(&text),
            [
                "# HELP otel_sdk_processor_span_processed_total Help.",
                "# TYPE otel_sdk_processor_span_processed_total counter",
                "otel_sdk_processor_span_processed_total{error_type=\"ring_full\"} 7",
                "# HELP queue_fill_ratio Help.",
                "# TYPE queue_fill_ratio gauge",
                "queue_fill_ratio 0.5",
            ]
        );
    }

    #[test]
    fn series_and_labels_are_sorted() {
        let points = vec![
            counter(labels(&[("z", "1"), ("a", "b")]), 1),
            counter(labels(&[("z", "0"), ("a", "b")]), 2),
            counter(labels(&[("a", "a")]), 3),
        ];
        let text = render(&snapshot(vec![metric(
            "c",
            "",
            MetricData::Counter(points),
        )]));
        assert_eq!(
            lines(&text)[2..],
            [
                "c_total{a=\"a\"} 3",
                "c_total{a=\"b\",z=\"0\"} 2",
                "c_total{a=\"b\",z=\"1\"} 1",
            ]
        );
    }

    #[test]
    fn colliding_label_names_are_merged() {
        let points = vec![counter(
            labels(&[("error_type", "b"), ("error.type", "a")]),
            1,
        )];
        let text = render(&snapshot(vec![metric(
            "c",
            "",
            MetricData::Counter(points),
        )]));
        assert_eq!(lines(&text)[2], "c_total{error_type=\"a;b\"} 1");
    }

    #[test]
    fn colliding_metric_names_keep_one_type_block() {
        let first = metric(
            "a.b",
            "",
            MetricData::Gauge(vec![gauge(labels(&[("k", "1")]), 1.0)]),
        );
        let same_kind = metric(
            "a_b",
            "",
            MetricData::Gauge(vec![
                gauge(labels(&[("k", "1")]), 9.0),
                gauge(labels(&[("k", "2")]), 2.0),
            ]),
        );
        let other_kind = metric(
            "a:b",
            "",
            MetricData::Histogram(vec![HistogramPoint {
                labels: Labels::new(),
                bounds: BOUNDS,
                bucket_counts: vec![0; 5],
                sum: 0.0,
                count: 0,
                exemplars: Vec::new(),
                exponential: None,
            }]),
        );
        let text = render(&snapshot(vec![same_kind, other_kind, first]));
        assert_eq!(
            lines(&text),
            [
                "# HELP a_b Help.",
                "# TYPE a_b gauge",
                "a_b{k=\"1\"} 1",
                "a_b{k=\"2\"} 2",
            ]
        );
    }

    #[test]
    fn same_labels_from_two_callsites_are_one_summed_series() {
        let calls = metric(
            "function_calls_total",
            "",
            MetricData::Counter(vec![
                counter(labels(&[("function", "new"), ("module", "m")]), 3),
                counter(labels(&[("function", "new"), ("module", "m")]), 4),
            ]),
        );
        let point = |buckets: Vec<u64>, sum: f64| HistogramPoint {
            labels: labels(&[("function", "new")]),
            bounds: BOUNDS,
            count: buckets.iter().sum(),
            bucket_counts: buckets,
            sum,
            exemplars: Vec::new(),
            exponential: None,
        };
        let latency = metric(
            "latency",
            "s",
            MetricData::Histogram(vec![
                point(vec![1, 0, 2, 0, 0], 0.25),
                point(vec![0, 1, 1, 0, 1], 2.5),
            ]),
        );
        let text = render(&snapshot(vec![calls, latency]));
        assert!(
            text.contains("function_calls_total{function=\"new\",module=\"m\"} 7\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_bucket{function=\"new\",le=\"0.1\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_count{function=\"new\"} 6\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_sum{function=\"new\"} 2.75\n"),
            "{text}"
        );
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let mut unique = samples.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), samples.len(), "{text}");
    }

    #[test]
    fn openmetrics_names_counter_families_without_total() {
        let calls = metric(
            "function_calls_total",
            "",
            MetricData::Counter(vec![counter(labels(&[("function", "f")]), 3)]),
        );
        let text = render_openmetrics(&snapshot(vec![calls]));
        assert_eq!(
            lines(&text),
            [
                "# HELP function_calls Help.",
                "# TYPE function_calls counter",
                "function_calls_total{function=\"f\"} 3",
            ]
        );
    }

    #[test]
    fn empty_snapshot_renders_nothing() {
        assert_eq!(render(&MetricsSnapshot::default()), "");
    }
}
