//! Merging the snapshots of several processes into one (multiprocess mode, see
//! [`multiprocess`](super::multiprocess)), before rendering: rendering itself is unchanged.
//!
//! Series are keyed by metric name, type and their labels (original names, sorted), and
//! summed: counters exactly (saturating), histograms bucket by bucket when their bounds are
//! the same (the same binary always has the same bounds), gauges of live processes summed.
//! Exited processes keep their counters and histograms (in [`Retired`]); their gauges go.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

use crate::export::{
    CounterPoint, Exemplar, GaugePoint, HistogramPoint, Labels, Metric, MetricData, MetricsSnapshot,
};

/// How many exited processes keep series of their own under the process label; past this the
/// oldest is folded into the series whose process label is `"exited"`.
pub const MAX_EXITED_PROCESSES: usize = 64;
/// The process label's value for the folded totals of older exited processes.
pub(crate) const EXITED: &str = "exited";

/// Series labels: `(name, value)`, sorted.
type Key = Vec<(String, String)>;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Clone)]
enum Acc {
    Counter(u64),
    Gauge(f64),
    Histogram {
        bounds: &'static [f64],
        buckets: Vec<u64>,
        sum: f64,
        count: u64,
        /// At most one per bucket, ascending by bucket: the latest of every process's.
        exemplars: Vec<Exemplar>,
    },
}

impl Acc {
    fn absorb(&mut self, other: &Acc) {
        match (self, other) {
            (Acc::Counter(a), Acc::Counter(b)) => *a = a.saturating_add(*b),
            (Acc::Gauge(a), Acc::Gauge(b)) => *a += *b,
            (
                Acc::Histogram {
                    bounds,
                    buckets,
                    sum,
                    count,
                    exemplars,
                },
                Acc::Histogram {
                    bounds: b_bounds,
                    buckets: b_buckets,
                    sum: b_sum,
                    count: b_count,
                    exemplars: b_exemplars,
                },
            ) if *bounds == *b_bounds => {
                latest_per_bucket(exemplars, b_exemplars);
                if buckets.len() < b_buckets.len() {
                    buckets.resize(b_buckets.len(), 0);
                }
                for (a, b) in buckets.iter_mut().zip(b_buckets) {
                    *a = a.saturating_add(*b);
                }
                *sum += *b_sum;
                *count = count.saturating_add(*b_count);
            }
            _ => warn_unmergeable(),
        }
    }
}

/// Merges `other` into `mine`: per bucket, the exemplar of the later call wins (ascending by
/// bucket, at most one per bucket, as [`HistogramPoint::exemplars`] promises).
fn latest_per_bucket(mine: &mut Vec<Exemplar>, other: &[Exemplar]) {
    for e in other {
        match mine.binary_search_by_key(&e.bucket, |m| m.bucket) {
            Ok(i) if mine[i].time_unix_nanos < e.time_unix_nanos => mine[i] = e.clone(),
            Ok(_) => {}
            Err(i) => mine.insert(i, e.clone()),
        }
    }
}

fn warn_unmergeable() {
    crate::diag::warn(
        "prometheus multiprocess: two processes sent one histogram series with different \
         bucket bounds; the first process's is kept (run one binary per multiprocess directory)"
            .to_owned(),
    );
}

#[derive(Clone)]
struct Family {
    description: Cow<'static, str>,
    unit: Cow<'static, str>,
    series: BTreeMap<Key, Acc>,
}

/// Summed series of any number of processes.
#[derive(Clone, Default)]
pub(crate) struct Model {
    families: BTreeMap<(String, Kind), Family>,
}

impl Model {
    /// Adds the series of `snapshot`, made by process `pid`. `label`: the process label's
    /// name, if the user asked for one. `with_gauges`: false for an exited process.
    pub(crate) fn add(
        &mut self,
        snapshot: &MetricsSnapshot,
        pid: u32,
        label: Option<&str>,
        with_gauges: bool,
    ) {
        let pid = pid.to_string();
        for metric in &snapshot.metrics {
            let kind = match metric.data {
                MetricData::Counter(_) => Kind::Counter,
                MetricData::Gauge(_) if !with_gauges => continue,
                MetricData::Gauge(_) => Kind::Gauge,
                MetricData::Histogram(_) => Kind::Histogram,
            };
            let family = self
                .families
                .entry((metric.name.to_string(), kind))
                .or_insert_with(|| Family {
                    description: metric.description.clone(),
                    unit: metric.unit.clone(),
                    series: BTreeMap::new(),
                });
            let key = |labels: &Labels| series_key(labels, label.map(|l| (l, pid.as_str())));
            let mut put = |key: Key, acc: Acc| match family.series.get_mut(&key) {
                Some(existing) => existing.absorb(&acc),
                None => {
                    family.series.insert(key, acc);
                }
            };
            match &metric.data {
                MetricData::Counter(points) => {
                    for p in points {
                        put(key(&p.labels), Acc::Counter(p.value));
                    }
                }
                MetricData::Gauge(points) => {
                    for p in points {
                        put(key(&p.labels), Acc::Gauge(p.value));
                    }
                }
                MetricData::Histogram(points) => {
                    for p in points {
                        let acc = Acc::Histogram {
                            bounds: p.bounds,
                            buckets: p.bucket_counts.clone(),
                            sum: p.sum,
                            count: p.count,
                            exemplars: p.exemplars.clone(),
                        };
                        put(key(&p.labels), acc);
                    }
                }
            }
        }
    }

    /// Adds every series of `other`.
    pub(crate) fn absorb(&mut self, other: &Model) {
        for (name, family) in &other.families {
            let mine = self.families.entry(name.clone()).or_insert_with(|| Family {
                description: family.description.clone(),
                unit: family.unit.clone(),
                series: BTreeMap::new(),
            });
            for (key, acc) in &family.series {
                match mine.series.get_mut(key) {
                    Some(existing) => existing.absorb(acc),
                    None => {
                        mine.series.insert(key.clone(), acc.clone());
                    }
                }
            }
        }
    }

    /// This model with the process label's value replaced by [`EXITED`].
    fn relabelled_exited(&self, label: &str) -> Model {
        let mut out = Model::default();
        for (name, family) in &self.families {
            let mut series = BTreeMap::new();
            for (key, acc) in &family.series {
                let key: Key = key
                    .iter()
                    .map(|(k, v)| {
                        let v = if k == label { EXITED } else { v.as_str() };
                        (k.clone(), v.to_owned())
                    })
                    .collect();
                match series.get_mut(&key) {
                    Some(existing) => Acc::absorb(existing, acc),
                    None => {
                        series.insert(key, acc.clone());
                    }
                }
            }
            out.families.insert(
                name.clone(),
                Family {
                    series,
                    ..family.clone()
                },
            );
        }
        out
    }

    /// The merged snapshot, ready for [`render`](super::render).
    pub(crate) fn into_snapshot(
        self,
        start_unix_nanos: u64,
        time_unix_nanos: u64,
    ) -> MetricsSnapshot {
        let metrics = self
            .families
            .into_iter()
            .map(|((name, kind), family)| Metric {
                name: Cow::Owned(name),
                description: family.description,
                unit: family.unit,
                data: family_data(kind, family.series),
            })
            .collect();
        MetricsSnapshot {
            start_unix_nanos,
            time_unix_nanos,
            metrics,
        }
    }
}

fn family_data(kind: Kind, series: BTreeMap<Key, Acc>) -> MetricData {
    let labels = |key: Key| -> Labels {
        key.into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
            .collect()
    };
    match kind {
        Kind::Counter => MetricData::Counter(
            series
                .into_iter()
                .filter_map(|(key, acc)| match acc {
                    Acc::Counter(value) => Some(CounterPoint {
                        labels: labels(key),
                        value,
                    }),
                    _ => None,
                })
                .collect(),
        ),
        Kind::Gauge => MetricData::Gauge(
            series
                .into_iter()
                .filter_map(|(key, acc)| match acc {
                    Acc::Gauge(value) => Some(GaugePoint {
                        labels: labels(key),
                        value,
                    }),
                    _ => None,
                })
                .collect(),
        ),
        Kind::Histogram => MetricData::Histogram(
            series
                .into_iter()
                .filter_map(|(key, acc)| match acc {
                    Acc::Histogram {
                        bounds,
                        buckets,
                        sum,
                        count,
                        exemplars,
                    } => Some(HistogramPoint {
                        labels: labels(key),
                        bounds,
                        bucket_counts: buckets,
                        sum,
                        count,
                        exemplars,
                        exponential: None,
                    }),
                    _ => None,
                })
                .collect(),
        ),
    }
}

/// A histogram point without exemplars (the unit tests' points).
#[cfg(test)]
fn histogram_point(
    labels: Labels,
    bounds: &'static [f64],
    bucket_counts: Vec<u64>,
    sum: f64,
    count: u64,
) -> HistogramPoint {
    HistogramPoint {
        labels,
        bounds,
        bucket_counts,
        sum,
        count,
        exemplars: Vec::new(),
        exponential: None,
    }
}

/// Sorted labels, with `process` (name, value) set when the user asked for a process label
/// (replacing a label of that name the series already had).
fn series_key(labels: &Labels, process: Option<(&str, &str)>) -> Key {
    let mut key: Key = labels
        .iter()
        .filter(|(k, _)| process.is_none_or(|(name, _)| k != name))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some((name, value)) = process {
        key.push((name.to_owned(), value.to_owned()));
    }
    key.sort();
    key
}

/// The counters and histograms of exited processes: what they counted stays in the scrape.
/// Without a process label, one summed model (its size is the number of distinct series, not
/// of processes). With one, each exited process keeps its own series (so none ends or
/// resets), at most [`MAX_EXITED_PROCESSES`]; older ones are folded into `label="exited"`.
#[derive(Default)]
pub(crate) struct Retired {
    folded: Model,
    exited: VecDeque<Model>,
}

impl Retired {
    /// Keeps the counters and histograms of exited process `pid`'s last snapshot.
    pub(crate) fn retire(&mut self, snapshot: &MetricsSnapshot, pid: u32, label: Option<&str>) {
        let mut model = Model::default();
        model.add(snapshot, pid, label, false);
        match label {
            None => self.folded.absorb(&model),
            Some(label) => {
                self.exited.push_back(model);
                while self.exited.len() > MAX_EXITED_PROCESSES {
                    if let Some(oldest) = self.exited.pop_front() {
                        self.folded.absorb(&oldest.relabelled_exited(label));
                    }
                }
            }
        }
    }

    /// Adds everything retired to `into`.
    pub(crate) fn add_to(&self, into: &mut Model) {
        into.absorb(&self.folded);
        for model in &self.exited {
            into.absorb(model);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: &[f64] = &[0.1, 1.0];

    fn labels(pairs: &[(&'static str, &'static str)]) -> Labels {
        pairs
            .iter()
            .map(|&(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
            .collect()
    }

    fn snapshot(calls: u64, buckets: [u64; 3], queue: f64, only_here: bool) -> MetricsSnapshot {
        let mut counters = vec![CounterPoint {
            labels: labels(&[("result", "ok"), ("function", "f")]),
            value: calls,
        }];
        if only_here {
            counters.push(CounterPoint {
                labels: labels(&[("function", "rare")]),
                value: 1,
            });
        }
        MetricsSnapshot {
            metrics: vec![
                Metric {
                    name: "calls".into(),
                    description: "Calls".into(),
                    unit: "{call}".into(),
                    data: MetricData::Counter(counters),
                },
                Metric {
                    name: "latency".into(),
                    description: "Latency".into(),
                    unit: "s".into(),
                    data: MetricData::Histogram(vec![histogram_point(
                        labels(&[("function", "f")]),
                        BOUNDS,
                        buckets.to_vec(),
                        buckets.iter().sum::<u64>() as f64 * 0.5,
                        buckets.iter().sum(),
                    )]),
                },
                Metric {
                    name: "queue".into(),
                    description: "Queue".into(),
                    unit: "1".into(),
                    data: MetricData::Gauge(vec![GaugePoint {
                        labels: Labels::new(),
                        value: queue,
                    }]),
                },
            ],
            ..MetricsSnapshot::default()
        }
    }

    fn text(model: Model) -> String {
        super::super::render(&model.into_snapshot(0, 0))
    }

    #[test]
    fn exemplars_survive_the_merge_latest_call_per_bucket() {
        let ex = |bucket: usize, span: u64, time: u64| Exemplar {
            bucket,
            trace_id: crate::TraceId::from_u128(7),
            span_id: crate::SpanId::from_u64(span),
            value: 0.05,
            time_unix_nanos: time,
        };
        let mut mine = vec![ex(0, 1, 10), ex(2, 2, 50)];
        latest_per_bucket(&mut mine, &[ex(0, 3, 20), ex(1, 4, 5), ex(2, 5, 40)]);
        let spans: Vec<(usize, u64)> = mine
            .iter()
            .map(|e| (e.bucket, e.span_id.to_u64()))
            .collect();
        assert_eq!(spans, [(0, 3), (1, 4), (2, 2)]);
    }

    #[test]
    fn live_and_exited_processes_sum_exactly() {
        let mut retired = Retired::default();
        retired.retire(&snapshot(5, [1, 2, 2], 9.0, true), 30, None);
        let mut model = Model::default();
        model.add(&snapshot(10, [4, 5, 1], 1.0, false), 10, None, true);
        model.add(&snapshot(20, [10, 0, 10], 2.0, false), 20, None, true);
        retired.add_to(&mut model);
        let text = text(model);
        assert!(
            text.contains("calls_total{function=\"f\",result=\"ok\"} 35\n"),
            "{text}"
        );
        // A series only the exited process had stays.
        assert!(
            text.contains("calls_total{function=\"rare\"} 1\n"),
            "{text}"
        );
        // Buckets summed per bound: 15, 7, 13 -> cumulative 15, 22, 35.
        assert!(
            text.contains("latency_seconds_bucket{function=\"f\",le=\"0.1\"} 15\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_bucket{function=\"f\",le=\"1\"} 22\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_bucket{function=\"f\",le=\"+Inf\"} 35\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_count{function=\"f\"} 35\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_sum{function=\"f\"} 17.5\n"),
            "{text}"
        );
        // Gauges: live processes only.
        assert!(text.contains("queue_ratio 3\n"), "{text}");
    }

    #[test]
    fn the_process_label_keeps_exited_processes_then_folds_the_oldest() {
        let mut retired = Retired::default();
        for pid in 0..(MAX_EXITED_PROCESSES as u32 + 2) {
            retired.retire(&snapshot(1, [1, 0, 0], 0.0, false), 1000 + pid, Some("pid"));
        }
        let mut model = Model::default();
        model.add(&snapshot(7, [7, 0, 0], 1.0, false), 1, Some("pid"), true);
        retired.add_to(&mut model);
        let text = text(model);
        assert!(
            text.contains("calls_total{function=\"f\",pid=\"1\",result=\"ok\"} 7\n"),
            "{text}"
        );
        assert!(
            text.contains("calls_total{function=\"f\",pid=\"exited\",result=\"ok\"} 2\n"),
            "{text}"
        );
        assert!(!text.contains("pid=\"1000\""), "{text}");
        assert!(!text.contains("pid=\"1001\""), "{text}");
        assert!(
            text.contains("calls_total{function=\"f\",pid=\"1002\",result=\"ok\"} 1\n"),
            "{text}"
        );
        let series = text
            .lines()
            .filter(|l| l.starts_with("calls_total{"))
            .count();
        assert_eq!(series, 1 + 1 + MAX_EXITED_PROCESSES);
        assert!(text.contains("queue_ratio{pid=\"1\"} 1\n"), "{text}");
    }
}
