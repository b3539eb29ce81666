//! The exporter thread's view of every metric shard: it sums the per-thread cells into
//! cumulative series, and folds the cells of exited threads into retired totals so memory does
//! not grow with thread churn.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::histogram::{CallsiteCells, HistogramTotals, BOUNDS_SECONDS};
use crate::callsite::{Callsite, NEW_CALLSITES, RESULT_CARDINALITY};
use crate::export::{CounterPoint, HistogramPoint, Labels, Metric, MetricData};
use crate::local::NEW_CELLS;

/// Name of the call counter (autometrics' name, so existing dashboards work).
pub const CALLS_TOTAL: &str = "function_calls_total";
/// Name of the latency histogram, in seconds.
pub const CALLS_DURATION: &str = "function_calls_duration_seconds";

const RESULT_VALUES: [&str; RESULT_CARDINALITY] = ["ok", "error"];

#[derive(Default)]
pub(crate) struct Aggregator {
    /// Callsites by dense index (holes where a registration race skipped an id).
    callsites: Vec<Option<&'static Callsite>>,
    /// Live shards, one per (thread, callsite).
    shards: Vec<Arc<CallsiteCells>>,
    /// Totals of shards whose thread exited: (callsite, series) -> counts.
    retired: BTreeMap<(usize, usize), HistogramTotals>,
}

impl Aggregator {
    /// Takes newly registered callsites and shards.
    pub(crate) fn register_new(&mut self) {
        while let Some(cs) = NEW_CALLSITES.pop() {
            if let Some(i) = cs.registered_index() {
                if self.callsites.len() <= i {
                    self.callsites.resize(i + 1, None);
                }
                self.callsites[i] = Some(cs);
            }
        }
        while let Some(shard) = NEW_CELLS.pop() {
            self.shards.push(shard);
        }
    }

    /// Folds shards whose thread has exited into the retired totals.
    pub(crate) fn retire_exited(&mut self) {
        let retired = &mut self.retired;
        self.shards.retain_mut(|shard| {
            // `get_mut` succeeds only when ours is the last reference: the thread-local was
            // dropped, and its Acquire synchronises with that drop, so every write the thread
            // made is visible to the reads below.
            let Some(cells) = Arc::get_mut(shard) else {
                return true;
            };
            for (series, cell) in cells.iter() {
                cell.add_to(retired.entry((cells.callsite, series)).or_default());
            }
            false
        });
    }

    /// Current cumulative totals: (callsite, series) -> counts.
    fn totals(&self) -> BTreeMap<(usize, usize), HistogramTotals> {
        let mut totals = self.retired.clone();
        for shard in &self.shards {
            for (series, cell) in shard.iter() {
                cell.add_to(totals.entry((shard.callsite, series)).or_default());
            }
        }
        totals
    }

    /// The call counter and latency histogram of every callsite called so far.
    pub(crate) fn call_metrics(&self) -> Vec<Metric> {
        let mut counters = Vec::new();
        let mut histograms = Vec::new();
        for ((cs_index, series), t) in self.totals() {
            let Some(Some(cs)) = self.callsites.get(cs_index) else {
                continue;
            };
            let labels = series_labels(cs, series);
            counters.push(CounterPoint {
                labels: labels.clone(),
                value: t.count(),
            });
            histograms.push(HistogramPoint {
                labels,
                bounds: &BOUNDS_SECONDS,
                bucket_counts: t.buckets.to_vec(),
                sum: t.sum_nanos as f64 / 1e9,
                count: t.count(),
            });
        }
        vec![
            Metric {
                name: Cow::Borrowed(CALLS_TOTAL),
                description: Cow::Borrowed("Calls of instrumented functions"),
                unit: Cow::Borrowed("{call}"),
                data: MetricData::Counter(counters),
            },
            Metric {
                name: Cow::Borrowed(CALLS_DURATION),
                description: Cow::Borrowed("Latency of instrumented functions"),
                unit: Cow::Borrowed("s"),
                data: MetricData::Histogram(histograms),
            },
        ]
    }
}

/// `function`, `module`, `result`, then the user's labels.
fn series_labels(cs: &'static Callsite, series: usize) -> Labels {
    let mut labels: Labels = vec![
        (Cow::Borrowed("function"), Cow::Borrowed(cs.name)),
        (Cow::Borrowed("module"), Cow::Borrowed(cs.module_path)),
        (
            Cow::Borrowed("result"),
            Cow::Borrowed(RESULT_VALUES[series % RESULT_CARDINALITY]),
        ),
    ];
    labels.extend(
        cs.label_values(series)
            .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v))),
    );
    labels
}
