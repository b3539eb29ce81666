//! The exporter thread's view of every metric shard: it sums the per-thread cells into
//! cumulative series, and folds the cells of exited threads into retired totals so memory does
//! not grow with thread churn.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::histogram::{CallsiteCells, HistogramTotals, BOUNDS_SECONDS};
use crate::callsite::{Callsite, RESULT_CARDINALITY};
use crate::export::{CounterPoint, HistogramPoint, Labels, Metric, MetricData};
use crate::local::NEW_CELLS;

/// Name of the call counter (autometrics' name, so existing dashboards work).
pub const CALLS_TOTAL: &str = "function_calls_total";
/// Name of the latency histogram, in seconds.
pub const CALLS_DURATION: &str = "function_calls_duration_seconds";

const RESULT_VALUES: [&str; RESULT_CARDINALITY] = ["ok", "error"];

/// Summed counts of one series, keyed by (callsite index, series index).
type Totals = BTreeMap<(usize, usize), (&'static Callsite, HistogramTotals)>;

#[derive(Default)]
pub(crate) struct Aggregator {
    /// Live shards, one per (thread, callsite).
    shards: Vec<Arc<CallsiteCells>>,
    /// Totals of shards whose thread exited.
    retired: Totals,
}

fn add<'a>(
    totals: &'a mut Totals,
    cells: &CallsiteCells,
    series: usize,
) -> &'a mut HistogramTotals {
    &mut totals
        .entry((cells.index, series))
        .or_insert_with(|| (cells.callsite, HistogramTotals::default()))
        .1
}

impl Aggregator {
    /// Takes newly created shards.
    pub(crate) fn register_new(&mut self) {
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
                cell.add_to(add(retired, cells, series));
            }
            false
        });
    }

    /// Current cumulative totals.
    fn totals(&self) -> Totals {
        let mut totals = self.retired.clone();
        for shard in &self.shards {
            for (series, cell) in shard.iter() {
                cell.add_to(add(&mut totals, shard, series));
            }
        }
        totals
    }

    /// The call counter and latency histogram of every callsite called so far.
    pub(crate) fn call_metrics(&self) -> Vec<Metric> {
        let mut counters = Vec::new();
        let mut histograms = Vec::new();
        for ((_, series), (cs, t)) in self.totals() {
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
        (Cow::Borrowed("function"), Cow::Borrowed(cs.function())),
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
