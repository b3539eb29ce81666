//! Metric snapshots as OTLP protobuf messages (the official `opentelemetry-proto` types).
//!
//! Why not `opentelemetry_sdk::metrics::data::ResourceMetrics`: in opentelemetry_sdk 0.33
//! every field of the metric data types (`ResourceMetrics`, `Sum`, `Histogram`,
//! `HistogramDataPoint`, ...) is `pub(crate)` and there is no public constructor and no crate
//! feature that adds one; the only way to get a `ResourceMetrics` is the SDK's own aggregation
//! pipeline. Replaying our snapshot through SDK instruments would not be exact (a histogram
//! can only be fed single observations, so its sum, min and max would be invented, at a cost
//! of one call per observation). The generated protobuf types have public fields, so the
//! snapshot is converted to them exactly, and sent with the generated tonic client or as the
//! OTLP/HTTP protobuf body (see [`super::metrics_client`]).
//!
//! Temporality is cumulative, as our snapshots are: counters become monotonic `Sum`s,
//! histograms explicit-bucket `Histogram`s, both `AGGREGATION_TEMPORALITY_CUMULATIVE` with
//! the snapshot's start time.
//!
//! A histogram whose points carry exponential buckets (the pipeline records them,
//! `Builder::exponential_histograms`) becomes an OTLP `ExponentialHistogram` instead, at the
//! recording scale; [`fit_exponential`] then merges adjacent buckets to fit `max_size`, after
//! the delta rewrite (which subtracts at the recording scale, so a delta is as fine as its own
//! range allows).

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, exponential_histogram_data_point, metric, number_data_point, AggregationTemporality,
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric as ProtoMetric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;

use crate::export::{
    CounterPoint, GaugePoint, HistogramPoint, Labels, Metric, MetricData, MetricsSnapshot,
};

/// The time window every point of a snapshot shares.
#[derive(Clone, Copy)]
struct Window {
    start: u64,
    time: u64,
}

/// One export request holding every metric of the snapshot.
pub(crate) fn request(
    snapshot: &MetricsSnapshot,
    resource: &ProtoResource,
) -> ExportMetricsServiceRequest {
    let window = Window {
        start: snapshot.start_unix_nanos,
        time: snapshot.time_unix_nanos,
    };
    let scope_metrics = ScopeMetrics {
        scope: Some(scope()),
        metrics: snapshot.metrics.iter().map(|m| metric(m, window)).collect(),
        schema_url: String::new(),
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource.clone()),
            scope_metrics: vec![scope_metrics],
            schema_url: String::new(),
        }],
    }
}

/// The OTLP resource for an SDK resource (the same one the span and log exporters get).
pub(crate) fn resource(sdk: &opentelemetry_sdk::Resource) -> ProtoResource {
    ProtoResource {
        attributes: sdk.iter().map(|(k, v)| attribute(k.as_str(), v)).collect(),
        ..ProtoResource::default()
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: env!("CARGO_PKG_NAME").to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..InstrumentationScope::default()
    }
}

fn metric(m: &Metric, window: Window) -> ProtoMetric {
    let data = match &m.data {
        MetricData::Counter(points) => counter(points, window),
        MetricData::Gauge(points) => gauge(points, window),
        MetricData::Histogram(points) => histogram(points, window),
    };
    ProtoMetric {
        name: m.name.to_string(),
        description: m.description.to_string(),
        unit: m.unit.to_string(),
        data: Some(data),
        ..ProtoMetric::default()
    }
}

fn counter(points: &[CounterPoint], window: Window) -> metric::Data {
    let data_points = points
        .iter()
        .map(|p| {
            // OTLP integers are signed; a count past i64::MAX saturates instead of wrapping.
            let value = i64::try_from(p.value).unwrap_or(i64::MAX);
            number_point(&p.labels, number_data_point::Value::AsInt(value), window)
        })
        .collect();
    metric::Data::Sum(Sum {
        data_points,
        aggregation_temporality: AggregationTemporality::Cumulative as i32,
        is_monotonic: true,
    })
}

fn gauge(points: &[GaugePoint], window: Window) -> metric::Data {
    let data_points = points
        .iter()
        .map(|p| {
            number_point(
                &p.labels,
                number_data_point::Value::AsDouble(p.value),
                window,
            )
        })
        .collect();
    metric::Data::Gauge(Gauge { data_points })
}

fn number_point(
    labels: &Labels,
    value: number_data_point::Value,
    window: Window,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes(labels),
        start_time_unix_nano: window.start,
        time_unix_nano: window.time,
        value: Some(value),
        ..NumberDataPoint::default()
    }
}

fn histogram(points: &[HistogramPoint], window: Window) -> metric::Data {
    if !points.is_empty() && points.iter().all(|p| p.exponential.is_some()) {
        let data_points = points
            .iter()
            .filter_map(|p| exponential_point(p, window))
            .collect();
        return metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        });
    }
    let data_points = points.iter().map(|p| histogram_point(p, window)).collect();
    metric::Data::Histogram(Histogram {
        data_points,
        aggregation_temporality: AggregationTemporality::Cumulative as i32,
    })
}

fn histogram_point(p: &HistogramPoint, window: Window) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: attributes(&p.labels),
        start_time_unix_nano: window.start,
        time_unix_nano: window.time,
        count: p.count,
        sum: Some(p.sum),
        bucket_counts: p.bucket_counts.clone(),
        explicit_bounds: p.bounds.to_vec(),
        exemplars: p.exemplars.iter().map(exemplar).collect(),
        ..HistogramDataPoint::default()
    }
}

fn exponential_point(p: &HistogramPoint, window: Window) -> Option<ExponentialHistogramDataPoint> {
    let e = p.exponential.as_ref()?;
    Some(ExponentialHistogramDataPoint {
        attributes: attributes(&p.labels),
        start_time_unix_nano: window.start,
        time_unix_nano: window.time,
        // The buckets' own total: equal to `p.count` when recording was on from the first call.
        count: e.zero_count + e.counts.iter().sum::<u64>(),
        sum: Some(p.sum),
        scale: e.scale,
        zero_count: e.zero_count,
        positive: Some(exponential_histogram_data_point::Buckets {
            offset: e.offset,
            bucket_counts: e.counts.clone(),
        }),
        // OTLP exemplars name no bucket: the explicit buckets' exemplars are the same calls.
        exemplars: p.exemplars.iter().map(exemplar).collect(),
        ..ExponentialHistogramDataPoint::default()
    })
}

/// Merges adjacent buckets of every exponential point of `request` until its populated range
/// spans at most `max_size` buckets (the largest scale that fits; counts stay exact).
pub(crate) fn fit_exponential(request: &mut ExportMetricsServiceRequest, max_size: usize) {
    let points = request
        .resource_metrics
        .iter_mut()
        .flat_map(|r| &mut r.scope_metrics)
        .flat_map(|s| &mut s.metrics)
        .filter_map(|m| match &mut m.data {
            Some(metric::Data::ExponentialHistogram(h)) => Some(&mut h.data_points),
            _ => None,
        })
        .flatten();
    for point in points {
        let Some(buckets) = point.positive.as_mut() else {
            continue;
        };
        let by = crate::metrics::exponential::reduction_to_fit(
            buckets.offset,
            &buckets.bucket_counts,
            max_size,
        );
        let (offset, counts) =
            crate::metrics::exponential::downscale(buckets.offset, &buckets.bucket_counts, by);
        point.scale -= by as i32;
        buckets.offset = offset;
        buckets.bucket_counts = counts;
    }
}

/// An exemplar with its span's ids as bytes (16 and 8, big-endian, as OTLP spans carry them).
pub(super) fn exemplar(e: &crate::export::Exemplar) -> Exemplar {
    Exemplar {
        time_unix_nano: e.time_unix_nanos,
        span_id: e.span_id.to_bytes().to_vec(),
        trace_id: e.trace_id.to_bytes().to_vec(),
        value: Some(exemplar::Value::AsDouble(e.value)),
        ..Exemplar::default()
    }
}

fn attributes(labels: &Labels) -> Vec<KeyValue> {
    labels
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.to_string(),
            value: Some(string_value(v.to_string())),
            ..KeyValue::default()
        })
        .collect()
}

fn string_value(s: String) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s)),
    }
}

fn attribute(key: &str, value: &opentelemetry::Value) -> KeyValue {
    let value = match value {
        opentelemetry::Value::Bool(b) => any_value::Value::BoolValue(*b),
        opentelemetry::Value::I64(i) => any_value::Value::IntValue(*i),
        opentelemetry::Value::F64(f) => any_value::Value::DoubleValue(*f),
        other => any_value::Value::StringValue(other.as_str().into_owned()),
    };
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn labels() -> Labels {
        vec![(Cow::Borrowed("function"), Cow::Borrowed("load_cart"))]
    }

    fn snapshot() -> MetricsSnapshot {
        MetricsSnapshot {
            start_unix_nanos: 10,
            time_unix_nanos: 20,
            metrics: vec![
                Metric {
                    name: "function_calls_total".into(),
                    description: "calls".into(),
                    unit: "1".into(),
                    data: MetricData::Counter(vec![CounterPoint {
                        labels: labels(),
                        value: u64::MAX,
                    }]),
                },
                Metric {
                    name: "function_calls_duration_seconds".into(),
                    description: "latency".into(),
                    unit: "s".into(),
                    data: MetricData::Histogram(vec![HistogramPoint {
                        labels: labels(),
                        bounds: &[0.1, 1.0],
                        bucket_counts: vec![2, 1, 0],
                        sum: 0.75,
                        count: 3,
                        exemplars: Vec::new(),
                        exponential: None,
                    }]),
                },
            ],
        }
    }

    #[test]
    fn counters_and_histograms_are_cumulative_and_exact() {
        let req = request(&snapshot(), &ProtoResource::default());
        let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
        let Some(metric::Data::Sum(sum)) = &metrics[0].data else {
            panic!("counter is not a sum");
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        let point = &sum.data_points[0];
        assert_eq!(point.value, Some(number_data_point::Value::AsInt(i64::MAX)));
        assert_eq!((point.start_time_unix_nano, point.time_unix_nano), (10, 20));
        assert_eq!(point.attributes[0].key, "function");
        let Some(metric::Data::Histogram(h)) = &metrics[1].data else {
            panic!("histogram is not a histogram");
        };
        let point = &h.data_points[0];
        assert_eq!(metrics[1].unit, "s");
        assert_eq!((point.count, point.sum), (3, Some(0.75)));
        assert_eq!(point.bucket_counts, [2, 1, 0]);
        assert_eq!(point.explicit_bounds, [0.1, 1.0]);
    }

    #[test]
    fn resource_attributes_are_carried() {
        let sdk = opentelemetry_sdk::Resource::builder_empty()
            .with_service_name("shop")
            .build();
        let proto = resource(&sdk);
        assert_eq!(proto.attributes[0].key, "service.name");
    }
}
