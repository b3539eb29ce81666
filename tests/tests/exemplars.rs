//! Exemplars and per-function bucket bounds, through the public API: every exemplar of a
//! latency bucket names a span an exporter received (never one dropped before the ring, nor an
//! unsampled one, nor one only Prometheus was given), sits in the bucket its call was counted
//! in, and `#[instrument(buckets = [...])]` counts in the function's own bounds.

use std::collections::HashSet;
use std::time::Duration;

use instrument_runtime::export::prometheus::PrometheusExporter;
use instrument_runtime::export::{HistogramPoint, MetricData, MetricsSnapshot};
use instrument_runtime::testing::TestExporter;
use instrument_runtime::{instrument, DropReason, SpanId, TraceId, CALLS_DURATION};
use instrument_tests::isolated;

#[instrument]
fn tight(i: u64) -> u64 {
    i.wrapping_mul(3)
}

#[instrument(buckets = [0.002, 1.0])]
fn own_bounds(sleep_ms: u64) {
    std::thread::sleep(Duration::from_millis(sleep_ms));
}

/// The latency points of `function`, one per `result`.
fn points(snapshot: &MetricsSnapshot, function: &str) -> Vec<HistogramPoint> {
    let metric = snapshot.get(CALLS_DURATION).expect("latency histogram");
    let MetricData::Histogram(points) = &metric.data else {
        panic!("not a histogram");
    };
    points
        .iter()
        .filter(|p| {
            p.labels
                .iter()
                .any(|(k, v)| k == "function" && v == function)
        })
        .cloned()
        .collect()
}

/// Checks every exemplar of `point`: one per bucket at most, in a bucket that counted calls,
/// its value inside that bucket's bounds, and its ids those of a span in `exported`.
fn check_exemplars(point: &HistogramPoint, exported: &HashSet<(TraceId, SpanId)>) {
    let mut buckets = HashSet::new();
    for e in &point.exemplars {
        assert!(
            buckets.insert(e.bucket),
            "one exemplar per bucket: {point:?}"
        );
        assert!(
            point.bucket_counts[e.bucket] > 0,
            "{e:?} in an empty bucket"
        );
        let upper = point.bounds.get(e.bucket).copied().unwrap_or(f64::INFINITY);
        let lower = e.bucket.checked_sub(1).map_or(0.0, |b| point.bounds[b]);
        assert!(
            e.value > lower && e.value <= upper || e.value == 0.0 && e.bucket == 0,
            "{e:?} outside ({lower}, {upper}]"
        );
        assert!(
            exported.contains(&(e.trace_id, e.span_id)),
            "{e:?} names a span no exporter received"
        );
    }
}

#[test]
fn exemplars_name_only_spans_that_were_exported() {
    isolated(
        "exemplars_name_only_spans_that_were_exported",
        Duration::from_secs(60),
        || {
            let (exporter, collected) = TestExporter::new();
            // A ring of 2 records overflows at once under a tight loop, and half the traces
            // are not sampled: the metrics count every call, the spans only some of them.
            let telemetry = instrument_runtime::builder()
                .exporter(exporter)
                .ring_capacity(2)
                .sample_ratio(0.5)
                .install()
                .unwrap();
            const CALLS: u64 = 20_000;
            for i in 0..CALLS {
                tight(i);
            }
            let report = telemetry.flush(Duration::from_secs(10));
            assert!(report.completed);
            let stats = telemetry.stats();
            let spans = collected.spans_named("tight");
            assert!(
                stats.spans.dropped(DropReason::QueueFull) > 0,
                "the ring overflowed: {stats:?}"
            );
            assert!(!spans.is_empty() && (spans.len() as u64) < CALLS / 2 + CALLS / 10);
            let exported: HashSet<_> = spans.iter().map(|s| (s.trace_id, s.span_id)).collect();
            let snapshot = collected.metrics().expect("a snapshot at the flush");
            let points = points(&snapshot, "tight");
            assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), CALLS);
            let exemplars: usize = points.iter().map(|p| p.exemplars.len()).sum();
            assert!(exemplars >= 1, "{points:?}");
            for point in &points {
                check_exemplars(point, &exported);
            }
            drop(telemetry);
        },
    );
}

#[test]
fn own_bounds_count_exactly_and_each_used_bucket_has_an_exemplar() {
    isolated(
        "own_bounds_count_exactly_and_each_used_bucket_has_an_exemplar",
        Duration::from_secs(60),
        || {
            let (exporter, collected) = TestExporter::new();
            let telemetry = instrument_runtime::builder()
                .exporter(exporter)
                .install()
                .unwrap();
            for _ in 0..5 {
                own_bounds(0); // well under 2 ms
            }
            for _ in 0..3 {
                own_bounds(5); // in (2 ms, 1 s]
            }
            assert!(telemetry.flush(Duration::from_secs(10)).completed);
            let spans = collected.spans_named("own_bounds");
            assert_eq!(spans.len(), 8);
            let exported: HashSet<_> = spans.iter().map(|s| (s.trace_id, s.span_id)).collect();
            let snapshot = collected.metrics().expect("a snapshot at the flush");
            let points = points(&snapshot, "own_bounds");
            assert_eq!(points.len(), 1, "only `ok` calls: {points:?}");
            let point = &points[0];
            assert_eq!(point.bounds, [0.002, 1.0]);
            assert_eq!(point.bucket_counts, [5, 3, 0]);
            assert_eq!(point.count, 8);
            let buckets: Vec<usize> = point.exemplars.iter().map(|e| e.bucket).collect();
            assert_eq!(buckets, [0, 1], "{point:?}");
            check_exemplars(point, &exported);
            // The latest call of each bucket.
            assert_eq!(point.exemplars[1].span_id, spans[7].span_id);
            assert_eq!(point.exemplars[0].span_id, spans[4].span_id);
            drop(telemetry);
        },
    );
}

#[test]
fn spans_only_prometheus_was_given_make_no_exemplars() {
    isolated(
        "spans_only_prometheus_was_given_make_no_exemplars",
        Duration::from_secs(60),
        || {
            let prometheus = PrometheusExporter::new();
            let handle = prometheus.handle();
            // Prometheus takes every signal here, but exports no spans: nobody has them.
            let telemetry = instrument_runtime::builder()
                .exporter(prometheus)
                .install()
                .unwrap();
            for i in 0..10 {
                tight(i);
            }
            assert!(telemetry.flush(Duration::from_secs(10)).completed);
            let text = handle.render_openmetrics();
            assert!(
                text.contains("function_calls_duration_seconds_bucket"),
                "{text}"
            );
            assert!(!text.contains("trace_id"), "{text}");
            drop(telemetry);
        },
    );
}
