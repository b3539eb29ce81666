//! Delta temporality (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta|lowmemory`).
//!
//! Our snapshots are cumulative. For delta, every monotonic sum and histogram point becomes
//! `current - baseline`, where the baseline is the cumulative value last *delivered* for that
//! series, and its start time is the time of that delivery. The baseline advances only when an
//! export is delivered (or partially accepted): a failed export's increase is carried by the
//! next delta. So the delivered deltas of a series always sum to its last delivered cumulative
//! value: no call is counted in two deltas or in none, and consecutive deltas' windows touch.
//!
//! Exponential histograms are subtracted bucket by bucket at the recording scale (the request
//! is not yet downscaled when it is rewritten), so they are exact in the same way.
//!
//! `lowmemory` is delta for counters and histograms and cumulative for up-down counters,
//! which we do not have, so it behaves as `delta` here. Gauges have no temporality.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point, metric, AggregationTemporality, ExponentialHistogramDataPoint,
};

/// The metrics temporality preference of the OTLP metrics exporter spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Temporality {
    /// Every point since the start of the process (the default).
    #[default]
    Cumulative,
    /// Counters and histograms as the change since the previous delivered export.
    Delta,
    /// Delta for counters and histograms, cumulative for up-down counters (none here).
    LowMemory,
}

impl Temporality {
    /// Parses `cumulative`, `delta` or `lowmemory` (any case, as the spec allows).
    pub fn parse(value: &str) -> Option<Temporality> {
        match value.trim().to_ascii_lowercase().as_str() {
            "cumulative" => Some(Temporality::Cumulative),
            "delta" => Some(Temporality::Delta),
            "lowmemory" => Some(Temporality::LowMemory),
            _ => None,
        }
    }

    fn is_delta(self) -> bool {
        !matches!(self, Temporality::Cumulative)
    }
}

/// One series' identity: metric name, its attributes (encoded), and which occurrence of that
/// pair in the snapshot (two callsites can render the same labels).
type SeriesId = (String, Vec<u8>, usize);

#[derive(Clone, Debug)]
enum Baseline {
    Sum {
        value: i64,
        time: u64,
    },
    Histogram {
        count: u64,
        sum: f64,
        buckets: Vec<u64>,
        time: u64,
    },
    Exponential {
        count: u64,
        sum: f64,
        zero_count: u64,
        scale: i32,
        offset: i32,
        counts: Vec<u64>,
        time: u64,
    },
}

/// The delivered baselines of every series.
#[derive(Debug, Default)]
pub(crate) struct DeltaState {
    delivered: HashMap<SeriesId, Baseline>,
}

/// Baselines a request would set, committed when it is delivered.
#[derive(Debug, Default)]
pub(crate) struct Pending(Vec<(SeriesId, Baseline)>);

impl DeltaState {
    /// Rewrites a cumulative `request` as delta (when `temporality` asks for it), returning
    /// the baselines to [`commit`](Self::commit) once it is delivered.
    pub(crate) fn apply(
        &self,
        temporality: Temporality,
        request: &mut ExportMetricsServiceRequest,
    ) -> Pending {
        let mut pending = Pending::default();
        if !temporality.is_delta() {
            return pending;
        }
        let mut seen: HashMap<(String, Vec<u8>), usize> = HashMap::new();
        let mut id = |name: &str, attributes: &[KeyValue]| -> SeriesId {
            let key = prost::Message::encode_to_vec(&AttributeList(attributes.to_vec()));
            let n = seen.entry((name.to_owned(), key.clone())).or_insert(0);
            *n += 1;
            (name.to_owned(), key, *n)
        };
        let metrics = request
            .resource_metrics
            .iter_mut()
            .flat_map(|r| &mut r.scope_metrics)
            .flat_map(|s| &mut s.metrics);
        for m in metrics {
            match &mut m.data {
                Some(metric::Data::Sum(sum)) if sum.is_monotonic => {
                    sum.aggregation_temporality = AggregationTemporality::Delta as i32;
                    for point in &mut sum.data_points {
                        let series = id(&m.name, &point.attributes);
                        let Some(
                            opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(
                                value,
                            ),
                        ) = point.value.as_mut()
                        else {
                            continue;
                        };
                        let current = *value;
                        if let Some(Baseline::Sum { value: base, time }) =
                            self.delivered.get(&series)
                        {
                            if current >= *base {
                                *value = current - base;
                                point.start_time_unix_nano = *time;
                            }
                        }
                        let time = point.time_unix_nano;
                        pending.0.push((
                            series,
                            Baseline::Sum {
                                value: current,
                                time,
                            },
                        ));
                    }
                }
                Some(metric::Data::Histogram(histogram)) => {
                    histogram.aggregation_temporality = AggregationTemporality::Delta as i32;
                    for point in &mut histogram.data_points {
                        let series = id(&m.name, &point.attributes);
                        let current = Baseline::Histogram {
                            count: point.count,
                            sum: point.sum.unwrap_or(0.0),
                            buckets: point.bucket_counts.clone(),
                            time: point.time_unix_nano,
                        };
                        if let Some(Baseline::Histogram {
                            count,
                            sum,
                            buckets,
                            time,
                        }) = self.delivered.get(&series)
                        {
                            let grew = point.count >= *count
                                && buckets.len() == point.bucket_counts.len()
                                && point.bucket_counts.iter().zip(buckets).all(|(c, b)| c >= b);
                            if grew {
                                point.count -= count;
                                point.sum = point.sum.map(|s| s - sum);
                                for (c, b) in point.bucket_counts.iter_mut().zip(buckets) {
                                    *c -= b;
                                }
                                point.start_time_unix_nano = *time;
                                // min/max of the window are unknown from cumulative totals.
                                point.min = None;
                                point.max = None;
                                // Exemplars are the latest per bucket: only those of calls
                                // that ended in this window belong to this delta.
                                let start = point.start_time_unix_nano;
                                point.exemplars.retain(|e| e.time_unix_nano > start);
                            }
                        }
                        pending.0.push((series, current));
                    }
                }
                Some(metric::Data::ExponentialHistogram(histogram)) => {
                    histogram.aggregation_temporality = AggregationTemporality::Delta as i32;
                    for point in &mut histogram.data_points {
                        let series = id(&m.name, &point.attributes);
                        let (offset, counts) = point
                            .positive
                            .as_ref()
                            .map_or((0, Vec::new()), |b| (b.offset, b.bucket_counts.clone()));
                        let current = Baseline::Exponential {
                            count: point.count,
                            sum: point.sum.unwrap_or(0.0),
                            zero_count: point.zero_count,
                            scale: point.scale,
                            offset,
                            counts,
                            time: point.time_unix_nano,
                        };
                        if let Some(base) = self.delivered.get(&series) {
                            exponential_delta(point, base);
                        }
                        pending.0.push((series, current));
                    }
                }
                _ => {}
            }
        }
        pending
    }

    /// The request that produced `pending` was delivered: its values are the new baselines.
    pub(crate) fn commit(&mut self, pending: Pending) {
        self.delivered.extend(pending.0);
    }
}

/// Rewrites the cumulative `point` as the change since `base` (when it grew from it), bucket
/// by bucket at the finer of the two scales both can be expressed in: the recording scale,
/// unless an earlier point was sent coarser.
fn exponential_delta(point: &mut ExponentialHistogramDataPoint, base: &Baseline) {
    use crate::metrics::exponential::{downscale, subtract};
    let Baseline::Exponential {
        count,
        sum,
        zero_count,
        scale,
        offset,
        counts,
        time,
    } = base
    else {
        return;
    };
    let (cur_offset, cur_counts) = point
        .positive
        .as_ref()
        .map_or((0, Vec::new()), |b| (b.offset, b.bucket_counts.clone()));
    let common = point.scale.min(*scale);
    let (co, cc) = downscale(cur_offset, &cur_counts, (point.scale - common) as u32);
    let (bo, bc) = downscale(*offset, counts, (*scale - common) as u32);
    if point.count < *count || point.zero_count < *zero_count {
        return;
    }
    let Some((offset, counts)) = subtract((co, &cc), (bo, &bc)) else {
        return;
    };
    point.count -= count;
    point.zero_count -= zero_count;
    point.sum = point.sum.map(|s| s - sum);
    point.scale = common;
    point.positive = Some(exponential_histogram_data_point::Buckets {
        offset,
        bucket_counts: counts,
    });
    point.start_time_unix_nano = *time;
    point.min = None;
    point.max = None;
    let start = point.start_time_unix_nano;
    point.exemplars.retain(|e| e.time_unix_nano > start);
}

/// Attributes as one message, to encode them as a map key.
#[derive(Clone, PartialEq, prost::Message)]
struct AttributeList(#[prost(message, repeated, tag = "1")] Vec<KeyValue>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{CounterPoint, HistogramPoint, Metric, MetricData, MetricsSnapshot};
    use std::borrow::Cow;

    const BOUNDS: &[f64] = &[0.1, 1.0];

    fn request(calls: u64, buckets: [u64; 3], sum: f64, time: u64) -> ExportMetricsServiceRequest {
        let labels = vec![(Cow::Borrowed("function"), Cow::Borrowed("f"))];
        let snapshot = MetricsSnapshot {
            start_unix_nanos: 100,
            time_unix_nanos: time,
            metrics: vec![
                Metric {
                    name: "calls".into(),
                    description: "".into(),
                    unit: "1".into(),
                    data: MetricData::Counter(vec![CounterPoint {
                        labels: labels.clone(),
                        value: calls,
                    }]),
                },
                Metric {
                    name: "latency".into(),
                    description: "".into(),
                    unit: "s".into(),
                    data: MetricData::Histogram(vec![HistogramPoint {
                        labels,
                        bounds: BOUNDS,
                        bucket_counts: buckets.to_vec(),
                        sum,
                        count: buckets.iter().sum(),
                        exemplars: Vec::new(),
                        exponential: None,
                    }]),
                },
            ],
        };
        super::super::metrics::request(&snapshot, &Default::default())
    }

    fn values(r: &ExportMetricsServiceRequest) -> (i64, u64, Vec<u64>, u64) {
        let metrics = &r.resource_metrics[0].scope_metrics[0].metrics;
        let Some(metric::Data::Sum(sum)) = &metrics[0].data else {
            panic!()
        };
        let Some(metric::Data::Histogram(h)) = &metrics[1].data else {
            panic!()
        };
        let Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(v)) =
            sum.data_points[0].value
        else {
            panic!()
        };
        let p = &h.data_points[0];
        (
            v,
            p.count,
            p.bucket_counts.clone(),
            sum.data_points[0].start_time_unix_nano,
        )
    }

    #[test]
    fn deltas_are_exact_and_a_failed_export_is_carried_by_the_next() {
        let mut state = DeltaState::default();
        let mut r1 = request(5, [1, 2, 2], 1.0, 200);
        let p1 = state.apply(Temporality::Delta, &mut r1);
        assert_eq!(values(&r1), (5, 5, vec![1, 2, 2], 100));
        state.commit(p1);
        // Not delivered: its increase must show in the next delta.
        let mut r2 = request(9, [2, 3, 4], 2.0, 300);
        let _lost = state.apply(Temporality::Delta, &mut r2);
        assert_eq!(values(&r2), (4, 4, vec![1, 1, 2], 200));
        let mut r3 = request(12, [3, 4, 5], 3.0, 400);
        let p3 = state.apply(Temporality::Delta, &mut r3);
        assert_eq!(values(&r3), (7, 7, vec![2, 2, 3], 200));
        state.commit(p3);
        let mut r4 = request(12, [3, 4, 5], 3.0, 500);
        let p4 = state.apply(Temporality::LowMemory, &mut r4);
        assert_eq!(values(&r4), (0, 0, vec![0, 0, 0], 400));
        state.commit(p4);
    }

    #[test]
    fn a_delta_keeps_only_the_exemplars_of_its_window() {
        let exemplar = |bucket: usize, time: u64| crate::export::Exemplar {
            bucket,
            trace_id: crate::TraceId::from_u128(1),
            span_id: crate::SpanId::from_u64(time),
            value: 0.5,
            time_unix_nanos: time,
        };
        let with_exemplars = |time: u64, exemplars: Vec<crate::export::Exemplar>| {
            let mut r = request(3, [1, 2, 0], 1.0, time);
            let snapshot_point = &mut r.resource_metrics[0].scope_metrics[0].metrics[1];
            let Some(metric::Data::Histogram(h)) = &mut snapshot_point.data else {
                panic!()
            };
            h.data_points[0].exemplars = exemplars
                .iter()
                .map(super::super::metrics::exemplar)
                .collect();
            r
        };
        let exemplars_of = |r: &ExportMetricsServiceRequest| {
            let Some(metric::Data::Histogram(h)) =
                &r.resource_metrics[0].scope_metrics[0].metrics[1].data
            else {
                panic!()
            };
            h.data_points[0]
                .exemplars
                .iter()
                .map(|e| e.time_unix_nano)
                .collect::<Vec<_>>()
        };
        let mut state = DeltaState::default();
        let mut r1 = with_exemplars(200, vec![exemplar(0, 150), exemplar(1, 190)]);
        let p1 = state.apply(Temporality::Delta, &mut r1);
        assert_eq!(
            exemplars_of(&r1),
            [150, 190],
            "the first window starts at 100"
        );
        state.commit(p1);
        // Bucket 0's exemplar is the same old call; bucket 1 had a new one in (200, 300].
        let mut r2 = with_exemplars(300, vec![exemplar(0, 150), exemplar(1, 250)]);
        let _ = state.apply(Temporality::Delta, &mut r2);
        assert_eq!(exemplars_of(&r2), [250]);
    }

    #[test]
    fn cumulative_is_untouched_and_spellings_parse() {
        let mut state = DeltaState::default();
        let mut r = request(5, [1, 2, 2], 1.0, 200);
        let before = r.clone();
        let p = state.apply(Temporality::Cumulative, &mut r);
        state.commit(p);
        assert_eq!(r, before);
        assert_eq!(Temporality::parse("Delta"), Some(Temporality::Delta));
        assert_eq!(
            Temporality::parse("lowmemory"),
            Some(Temporality::LowMemory)
        );
        assert_eq!(
            Temporality::parse("CUMULATIVE"),
            Some(Temporality::Cumulative)
        );
        assert_eq!(Temporality::parse("gauge"), None);
    }

    fn expo_request(
        zero: u64,
        offset: i32,
        counts: &[u64],
        time: u64,
    ) -> ExportMetricsServiceRequest {
        let count = zero + counts.iter().sum::<u64>();
        let snapshot = MetricsSnapshot {
            start_unix_nanos: 100,
            time_unix_nanos: time,
            metrics: vec![Metric {
                name: "latency".into(),
                description: "".into(),
                unit: "s".into(),
                data: MetricData::Histogram(vec![HistogramPoint {
                    labels: vec![(Cow::Borrowed("function"), Cow::Borrowed("f"))],
                    bounds: BOUNDS,
                    bucket_counts: vec![count, 0, 0],
                    sum: count as f64,
                    count,
                    exemplars: Vec::new(),
                    exponential: Some(crate::export::ExponentialBuckets {
                        scale: crate::EXPONENTIAL_SCALE,
                        zero_count: zero,
                        offset,
                        counts: counts.to_vec(),
                    }),
                }]),
            }],
        };
        super::super::metrics::request(&snapshot, &Default::default())
    }

    fn expo_point(r: &ExportMetricsServiceRequest) -> ExponentialHistogramDataPoint {
        match &r.resource_metrics[0].scope_metrics[0].metrics[0].data {
            Some(metric::Data::ExponentialHistogram(h)) => h.data_points[0].clone(),
            other => panic!("not exponential: {other:?}"),
        }
    }

    #[test]
    fn exponential_deltas_are_exact_per_bucket_and_sum_to_the_totals() {
        let mut state = DeltaState::default();
        // Cumulative totals: the populated range grows at both ends, past 160 buckets.
        let totals: [(u64, i32, Vec<u64>); 3] = [
            (1, -100, vec![3, 0, 2]),
            (
                1,
                -120,
                vec![
                    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2,
                ],
            ),
            (4, -120, {
                let mut v = vec![1; 200];
                v[20] = 5;
                v[22] = 2;
                v
            }),
        ];
        let mut delivered = Vec::new();
        for (n, (zero, offset, counts)) in totals.iter().enumerate() {
            let mut req = expo_request(*zero, *offset, counts, 1000 + n as u64);
            let pending = state.apply(Temporality::Delta, &mut req);
            super::super::metrics::fit_exponential(&mut req, 160);
            state.commit(pending);
            delivered.push(expo_point(&req));
        }
        let last = &totals[2];
        let total: u64 = last.0 + last.2.iter().sum::<u64>();
        assert_eq!(delivered.iter().map(|p| p.count).sum::<u64>(), total);
        assert_eq!(delivered.iter().map(|p| p.zero_count).sum::<u64>(), 4);
        // The second delta: exactly the calls added in its window, at the recording scale.
        let second = &delivered[1];
        let b = second.positive.as_ref().unwrap();
        assert_eq!((second.scale, b.offset), (3, -120));
        assert_eq!(b.bucket_counts.len(), 22, "{b:?}");
        assert_eq!(b.bucket_counts.iter().sum::<u64>(), 2, "{b:?}");
        assert_eq!((b.bucket_counts[0], b.bucket_counts[21]), (1, 1), "{b:?}");
        assert_eq!(second.start_time_unix_nano, 1000);
        // The third spans 200 buckets: downscaled to fit, counts kept.
        let third = &delivered[2];
        let b = third.positive.as_ref().unwrap();
        assert_eq!(third.scale, 2);
        assert!(b.bucket_counts.len() <= 160);
        assert_eq!(
            b.bucket_counts.iter().sum::<u64>() + third.zero_count,
            third.count
        );
        for p in &delivered {
            assert_eq!(
                p.positive
                    .as_ref()
                    .unwrap()
                    .bucket_counts
                    .iter()
                    .sum::<u64>()
                    + p.zero_count,
                p.count
            );
        }
    }
}
