//! Metrics the pipeline exports about itself, with OpenTelemetry's semantic-convention names
//! where one exists (`otel.sdk.processor.*.processed` with `error.type` for failures).

use std::borrow::Cow;

use crate::data::{CounterPoint, GaugePoint, Labels, Metric, MetricData};
use crate::stats::{DropReason, SignalStats, Stats};

pub(crate) fn metrics(stats: &Stats) -> Vec<Metric> {
    vec![
        processed("otel.sdk.processor.span.processed", "spans", &stats.spans),
        processed(
            "otel.sdk.processor.log.processed",
            "log records",
            &stats.logs,
        ),
        Metric {
            name: Cow::Borrowed("otel.sdk.processor.queue.size"),
            description: Cow::Borrowed("Records buffered and not yet exported or dropped"),
            unit: Cow::Borrowed("{record}"),
            data: MetricData::Gauge(vec![
                gauge("span", stats.spans.in_flight),
                gauge("log", stats.logs.in_flight),
            ]),
        },
    ]
}

fn processed(name: &'static str, what: &'static str, s: &SignalStats) -> Metric {
    let mut points = vec![CounterPoint {
        labels: Labels::new(),
        value: s.exported,
    }];
    points.extend(DropReason::ALL.iter().map(|&r| CounterPoint {
        labels: vec![(Cow::Borrowed("error.type"), Cow::Borrowed(r.as_str()))],
        value: s.dropped(r),
    }));
    Metric {
        name: Cow::Borrowed(name),
        description: Cow::Owned(format!(
            "Finished {what}: exported (no error.type) or dropped (error.type says why)"
        )),
        unit: Cow::Borrowed("{record}"),
        data: MetricData::Counter(points),
    }
}

fn gauge(signal: &'static str, value: u64) -> GaugePoint {
    GaugePoint {
        labels: vec![(Cow::Borrowed("signal"), Cow::Borrowed(signal))],
        value: value as f64,
    }
}
