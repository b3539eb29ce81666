//! Exact call metrics (never sampled), log records carrying the ids of the span they were made
//! in, and the accounting identity emitted = exported + dropped + in flight.

use std::time::Duration;

use instrument_runtime::export::MetricData;
use instrument_runtime::testing::{Collected, TestExporter};
use instrument_runtime::{current_span_context, instrument, Telemetry};
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(30);

fn install(ratio: f64) -> (Telemetry, Collected) {
    let (exporter, collected) = TestExporter::new();
    let telemetry = instrument_runtime::builder()
        .exporter(exporter)
        .sample_ratio(ratio)
        .install()
        .expect("install");
    (telemetry, collected)
}

#[instrument]
fn maybe(fail: bool) -> Result<(), ()> {
    if fail {
        Err(())
    } else {
        Ok(())
    }
}

fn hammer(threads: u64, calls: u64) {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                for i in 0..calls {
                    let _ = maybe(i % 4 == 0);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn counts_are_exact_across_threads() {
    isolated("counts_are_exact_across_threads", T, || {
        let (telemetry, c) = install(1.0);
        hammer(4, 2_000);
        assert!(telemetry.flush(T).completed);
        assert_eq!(c.call_count("maybe", "error"), 4 * 500);
        assert_eq!(c.call_count("maybe", "ok"), 4 * 1_500);
        let snapshot = c.metrics().unwrap();
        let hist = snapshot.get(instrument_runtime::CALLS_DURATION).unwrap();
        let MetricData::Histogram(points) = &hist.data else {
            panic!("not a histogram")
        };
        let ok = points
            .iter()
            .find(|p| p.labels.iter().any(|(k, v)| k == "result" && v == "ok"))
            .unwrap();
        assert_eq!(ok.count, 6_000);
        assert_eq!(ok.bucket_counts.iter().sum::<u64>(), 6_000);
        assert_eq!(ok.bucket_counts.len(), ok.bounds.len() + 1);
        assert!(ok.sum > 0.0);
        assert!(ok
            .labels
            .iter()
            .any(|(k, v)| k == "module" && v == "metrics_and_logs"));
        // Every sampled call was also exported as a span, none lost.
        assert_eq!(c.spans_named("maybe").len(), 8_000);
    });
}

#[test]
fn metrics_are_never_sampled() {
    isolated("metrics_are_never_sampled", T, || {
        let (telemetry, c) = install(0.0);
        hammer(2, 1_000);
        assert!(telemetry.flush(T).completed);
        assert_eq!(c.spans().len(), 0, "ratio 0 exports no span");
        assert_eq!(
            c.call_count("maybe", "ok") + c.call_count("maybe", "error"),
            2_000
        );
    });
}

#[instrument]
fn sampled_root() -> bool {
    let me = current_span_context().unwrap();
    let child = sampled_child();
    assert_eq!(
        me.is_sampled(),
        child,
        "children follow the parent's decision"
    );
    me.is_sampled()
}

#[instrument]
fn sampled_child() -> bool {
    current_span_context().unwrap().is_sampled()
}

#[test]
fn ratio_sampling_is_parent_based() {
    isolated("ratio_sampling_is_parent_based", T, || {
        let (telemetry, c) = install(0.5);
        let sampled = (0..2_000).filter(|_| sampled_root()).count();
        assert!(telemetry.flush(T).completed);
        assert!(
            (700..1_300).contains(&sampled),
            "{sampled} of 2000 at ratio 0.5"
        );
        assert_eq!(c.spans_named("sampled_root").len(), sampled);
        assert_eq!(c.spans_named("sampled_child").len(), sampled);
    });
}

#[instrument]
fn logs_inside(n: u32) -> (String, String) {
    log::info!("inside {n}");
    log::debug!("debug is below the default level");
    let ctx = current_span_context().unwrap();
    (ctx.trace_id.to_string(), ctx.span_id.to_string())
}

#[test]
fn log_records_carry_trace_and_span_ids() {
    isolated("log_records_carry_trace_and_span_ids", T, || {
        let (telemetry, c) = install(1.0);
        let (trace, span) = logs_inside(1);
        log::warn!("outside any span");
        // Unsampled spans still give their ids to logs (flag 00), so logs still join.
        assert!(telemetry.flush(T).completed);
        let logs = c.logs();
        assert_eq!(logs.len(), 2, "{logs:#?}");
        let inside = logs.iter().find(|l| l.body == "inside 1").unwrap();
        assert_eq!(inside.trace_id.unwrap().to_string(), trace);
        assert_eq!(inside.span_id.unwrap().to_string(), span);
        assert_eq!(inside.trace_flags, 1);
        assert_eq!(inside.module_path.as_deref(), Some("metrics_and_logs"));
        let outside = logs.iter().find(|l| l.body == "outside any span").unwrap();
        assert_eq!(outside.trace_id, None);
        assert_eq!(outside.span_id, None);
        let s = &c.spans_named("logs_inside")[0];
        assert_eq!(s.trace_id.to_string(), trace);
        assert!(trace.chars().all(|ch| matches!(ch, '0'..='9' | 'a'..='f')));
    });
}

#[test]
fn accounting_is_exact_after_flush() {
    isolated("accounting_is_exact_after_flush", T, || {
        let (telemetry, _c) = install(1.0);
        for i in 0..300 {
            let _ = maybe(false);
            log::info!("record {i}");
        }
        let report = telemetry.flush(T);
        assert!(report.completed);
        let s = report.stats;
        assert_eq!(s.spans.emitted, 300);
        assert_eq!(s.logs.emitted, 300);
        assert_eq!(s.spans.exported, 300);
        assert_eq!(s.logs.exported, 300);
        assert_eq!(s.spans.in_flight + s.logs.in_flight, 0);
        assert_eq!(report.in_flight, 0);
        assert!(s.spans.balances() && s.logs.balances());
        let shutdown = telemetry.shutdown();
        assert!(shutdown.completed);
        // After shutdown: no span is sampled; a log is dropped and counted.
        let _ = maybe(false);
        log::info!("after shutdown");
        let after = instrument_runtime::stats();
        assert_eq!(
            after,
            instrument_runtime::Stats::default(),
            "no pipeline, no stats"
        );
    });
}

#[test]
fn huge_values_are_truncated() {
    isolated("huge_values_are_truncated", T, || {
        #[instrument(fields(big = %big))]
        fn takes(big: &str) -> usize {
            log::info!("{big}");
            big.len()
        }
        let (exporter, c) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .max_value_len(100)
            .install()
            .unwrap();
        let big = "é\u{0}\"\n".repeat(10_000);
        takes(&big);
        assert!(telemetry.flush(T).completed);
        let s = &c.spans_named("takes")[0];
        let v = s.attributes[0].value.to_string();
        assert!(v.len() <= 100 + instrument_runtime::TRUNCATION_MARKER.len());
        assert!(v.ends_with(instrument_runtime::TRUNCATION_MARKER));
        let l = &c.logs()[0];
        assert!(l.body.len() <= 100 + instrument_runtime::TRUNCATION_MARKER.len());
    });
}
