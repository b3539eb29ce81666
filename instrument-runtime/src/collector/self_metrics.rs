//! Metrics the pipeline exports about itself, with OpenTelemetry's semantic-convention names
//! where one exists (`otel.sdk.processor.*.processed` with `error.type` for failures), one
//! series set per exporter (label `exporter`).

use std::borrow::Cow;

use crate::data::{CounterPoint, GaugePoint, Labels, Metric, MetricData};
use crate::stats::{DropReason, ExporterStats, SignalStats, Stats};

pub(crate) fn metrics(stats: &Stats) -> Vec<Metric> {
    let spans = |e: &ExporterStats| e.spans;
    let logs = |e: &ExporterStats| e.logs;
    let mut queue = Vec::new();
    let mut stuck = Vec::new();
    for e in stats.exporters.iter().filter(|e| e.active) {
        queue.push(gauge(e.name, "span", e.spans.in_flight));
        queue.push(gauge(e.name, "log", e.logs.in_flight));
        stuck.push(GaugePoint {
            labels: vec![(Cow::Borrowed("exporter"), Cow::Borrowed(e.name))],
            value: if e.stuck { 1.0 } else { 0.0 },
        });
    }
    vec![
        processed("otel.sdk.processor.span.processed", "spans", stats, spans),
        processed(
            "otel.sdk.processor.log.processed",
            "log records",
            stats,
            logs,
        ),
        Metric {
            name: Cow::Borrowed("otel.sdk.processor.queue.size"),
            description: Cow::Borrowed("Records buffered and not yet exported or dropped"),
            unit: Cow::Borrowed("{record}"),
            data: MetricData::Gauge(queue),
        },
        Metric {
            name: Cow::Borrowed("instrument.exporter.stuck"),
            description: Cow::Borrowed(
                "1 while one call into the exporter has run longer than stuck_exporter_after",
            ),
            unit: Cow::Borrowed("1"),
            data: MetricData::Gauge(stuck),
        },
    ]
}

fn processed(
    name: &'static str,
    what: &'static str,
    stats: &Stats,
    signal: impl Fn(&ExporterStats) -> SignalStats,
) -> Metric {
    // One series set per exporter name (a swapped-out exporter and its successor of the same
    // name are summed, so no label set repeats).
    let mut by_name: Vec<(&'static str, SignalStats)> = Vec::new();
    for e in &stats.exporters {
        match by_name.iter_mut().find(|(n, _)| *n == e.name) {
            Some((_, s)) => *s += signal(e),
            None => by_name.push((e.name, signal(e))),
        }
    }
    let mut points = Vec::new();
    for (name, s) in by_name {
        let exporter = (Cow::Borrowed("exporter"), Cow::Borrowed(name));
        points.push(CounterPoint {
            labels: vec![exporter.clone()],
            value: s.exported,
        });
        points.extend(DropReason::ALL.iter().map(|&r| CounterPoint {
            labels: vec![
                exporter.clone(),
                (Cow::Borrowed("error.type"), Cow::Borrowed(r.as_str())),
            ],
            value: s.dropped(r),
        }));
    }
    Metric {
        name: Cow::Borrowed(name),
        description: Cow::Owned(format!(
            "Finished {what}, per exporter: exported (no error.type) or dropped (error.type says why)"
        )),
        unit: Cow::Borrowed("{record}"),
        data: MetricData::Counter(points),
    }
}

fn gauge(exporter: &'static str, signal: &'static str, value: u64) -> GaugePoint {
    let labels: Labels = vec![
        (Cow::Borrowed("exporter"), Cow::Borrowed(exporter)),
        (Cow::Borrowed("signal"), Cow::Borrowed(signal)),
    ];
    GaugePoint {
        labels,
        value: value as f64,
    }
}
