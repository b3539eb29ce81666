//! The exporter thread's view of every metric shard: it sums the per-thread cells (and the
//! shared fallback shard of calls made during thread teardown) into cumulative series, and
//! folds the cells of exited threads into retired totals so memory does not grow with thread
//! churn. The state is process-wide, so it survives any pipeline, including a hung one.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::exemplar::{Counted, Exemplars};
use super::exponential::EXPONENTIAL_SCALE;
use super::fallback;
use super::histogram::{CallsiteCells, HistogramCell, HistogramTotals, NEW_CELLS};
use crate::callsite::{split_series, Callsite, RESULT_CARDINALITY};
use crate::data::{CounterPoint, ExponentialBuckets, HistogramPoint, Labels, Metric, MetricData};

/// Name of the call counter (autometrics' name, so existing dashboards work).
pub const CALLS_TOTAL: &str = "function_calls_total";
/// Name of the latency histogram, in seconds.
pub const CALLS_DURATION: &str = "function_calls_duration_seconds";

const RESULT_VALUES: [&str; RESULT_CARDINALITY] = ["ok", "error"];

/// Summed counts of one series, keyed by (callsite index, series index).
type Totals = BTreeMap<(usize, usize), (&'static Callsite, HistogramTotals)>;

/// What every exporter thread sums: live shards, one per (thread, callsite), and the totals of
/// shards whose thread exited.
struct State {
    shards: Vec<Arc<CallsiteCells>>,
    retired: Totals,
}

/// Process-wide, not one exporter thread's: a pipeline started after a hung one (whose
/// exporter thread is stuck) still sums every shard ever made, so no call is lost from the
/// metrics. Locked only for the short aggregation steps, never across an export call.
static STATE: Mutex<State> = Mutex::new(State {
    shards: Vec::new(),
    retired: BTreeMap::new(),
});

fn state() -> MutexGuard<'static, State> {
    // Nothing here panics while holding the lock; recover from a poison anyway.
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// In a forked child: the parent's shards and totals are not the child's (leaked: their
/// memory is shared with the parent's copies of the thread-locals).
pub(crate) fn forget_after_fork() {
    if let Ok(mut s) = STATE.try_lock() {
        std::mem::forget(std::mem::take(&mut s.shards));
        s.retired = BTreeMap::new();
    }
}

/// An exporter thread's handle on the process-wide aggregation state, and its exemplars
/// (chosen from the spans this exporter thread hands over, so they are its own).
#[derive(Default)]
pub(crate) struct Aggregator {
    exemplars: Exemplars,
}

/// Adds series `series` of `cells` (its explicit cell `cell`, and its exponential cell if
/// any) into `totals`.
fn add(totals: &mut Totals, cells: &CallsiteCells, series: usize, cell: &HistogramCell) {
    let into = &mut totals
        .entry((cells.index, series))
        .or_insert_with(|| (cells.callsite, HistogramTotals::default()))
        .1;
    cell.add_to(into);
    if let Some(expo) = cells.expo(series) {
        expo.add_to(into.expo.get_or_insert_with(Default::default));
    }
}

impl Aggregator {
    /// Takes newly created shards.
    pub(crate) fn register_new(&mut self) {
        let mut s = state();
        while let Some(shard) = NEW_CELLS.pop() {
            s.shards.push(shard);
        }
    }

    /// Folds shards whose thread has exited into the retired totals.
    pub(crate) fn retire_exited(&mut self) {
        let mut guard = state();
        let State { shards, retired } = &mut *guard;
        shards.retain_mut(|shard| {
            // `get_mut` succeeds only when ours is the last reference: the thread-local was
            // dropped, and its Acquire synchronises with that drop, so every write the thread
            // made is visible to the reads below.
            let Some(cells) = Arc::get_mut(shard) else {
                return true;
            };
            for (series, cell) in cells.iter() {
                add(retired, cells, series, cell);
            }
            false
        });
    }

    /// Current cumulative totals.
    fn totals(&self) -> Totals {
        let s = state();
        let mut totals = s.retired.clone();
        for shard in fallback::shards() {
            for (series, cell) in shard.iter() {
                add(&mut totals, shard, series, cell);
            }
        }
        for shard in &s.shards {
            for (series, cell) in shard.iter() {
                add(&mut totals, shard, series, cell);
            }
        }
        totals
    }

    /// A span of a call counted in `counted` was handed to a span exporter: it is that
    /// bucket's exemplar from now on.
    pub(crate) fn exemplar(&mut self, counted: Counted, span: &crate::data::SpanData) {
        self.exemplars.record(counted, span);
    }

    /// The call counter and latency histogram of every callsite called so far.
    pub(crate) fn call_metrics(&self) -> Vec<Metric> {
        let mut counters = Vec::new();
        let mut histograms = Vec::new();
        for ((index, series), (cs, t)) in self.totals() {
            let labels = series_labels(cs, series);
            let buckets = cs.buckets();
            counters.push(CounterPoint {
                labels: labels.clone(),
                value: t.count(),
            });
            histograms.push(HistogramPoint {
                labels,
                bounds: buckets.seconds(),
                bucket_counts: t.buckets[..buckets.len()].to_vec(),
                sum: t.sum_nanos as f64 / 1e9,
                count: t.count(),
                exemplars: self.exemplars.of_series(index, series, buckets.len()),
                exponential: t.expo.as_ref().map(|e| {
                    let (zero_count, offset, counts) = e.buckets();
                    ExponentialBuckets {
                        scale: EXPONENTIAL_SCALE,
                        zero_count,
                        offset,
                        counts,
                    }
                }),
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
    let (outcome, label_index) = split_series(series);
    let mut labels: Labels = vec![
        (Cow::Borrowed("function"), Cow::Borrowed(cs.function())),
        (Cow::Borrowed("module"), Cow::Borrowed(cs.module_path)),
        (
            Cow::Borrowed("result"),
            Cow::Borrowed(RESULT_VALUES[outcome]),
        ),
    ];
    labels.extend(
        cs.label_values(label_index)
            .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v))),
    );
    labels
}
