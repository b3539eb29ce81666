//! OTLP partial success from a real receiver (`ci/otlp_receiver.py --partial-success 3`:
//! oteltest's gRPC servicers and an HTTP handler with the official generated types, answering
//! `rejected_* = min(3, records)`): the rejected records are counted as dropped with reason
//! `rejected`, the rest as exported, exactly, over gRPC and HTTP/protobuf.

mod otlp_support;

use std::time::Duration;

use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
use instrument_runtime::{instrument, DropReason, ExportErrorKind, Exporter};
use instrument_tests::{isolated, within};
use otlp_support::{batch, logs, receiver_python, spans, Receiver};

const LIMIT: Duration = Duration::from_secs(90);
const REJECT: &str = "3";

#[test]
fn partial_success_is_an_exact_rejection_over_grpc_and_http() {
    let Some(python) = receiver_python() else {
        return;
    };
    let receiver = Receiver::start(&python, &["--partial-success".into(), REJECT.into()]);
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let mut exporter = OtlpExporter::builder()
            .endpoint(receiver.endpoint(protocol))
            .protocol(protocol)
            .build()
            .unwrap();
        let (spans_only, logs_only) = within(LIMIT, move || {
            let mut spans = batch(10, 0);
            spans.metrics = None;
            let mut logs = batch(0, 2);
            logs.metrics = None;
            (exporter.export(&spans), exporter.export(&logs))
        });
        let err = spans_only.unwrap_err();
        assert_eq!(
            err.kind,
            ExportErrorKind::Rejected { count: 3 },
            "{protocol}: {err}"
        );
        assert!(err.message.contains("test receiver rejected 3"), "{err}");
        let err = logs_only.unwrap_err();
        assert_eq!(
            err.kind,
            ExportErrorKind::Rejected { count: 2 },
            "{protocol}: {err}"
        );
    }
    // The receiver still got (and decoded) every request.
    let lines = receiver.wait_for(Duration::from_secs(20), |l| spans(l).len() == 20);
    assert_eq!(logs(&lines).len(), 4);
}

#[instrument]
fn partial_work(i: u64) -> u64 {
    log::info!("partial work {i}");
    i * 2
}

/// Through the pipeline: 10 spans and 10 logs in one batch each, the receiver rejects 3 of
/// each: exported 7, dropped (rejected) 3, emitted = exported + rejected.
#[test]
fn pipeline_partial_grpc() {
    pipeline_partial(Protocol::Grpc, "pipeline_partial_grpc");
}

#[test]
fn pipeline_partial_http() {
    pipeline_partial(Protocol::HttpProtobuf, "pipeline_partial_http");
}

fn pipeline_partial(protocol: Protocol, name: &str) {
    isolated(name, LIMIT, move || {
        let Some(python) = receiver_python() else {
            return;
        };
        let receiver = Receiver::start(&python, &["--partial-success".into(), REJECT.into()]);
        let exporter = OtlpExporter::builder()
            .endpoint(receiver.endpoint(protocol))
            .protocol(protocol)
            .build()
            .unwrap();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .export_interval(Duration::from_secs(3600))
            .metrics_interval(Duration::from_secs(3600))
            .max_batch(1000)
            .install()
            .unwrap();
        for i in 0..10 {
            partial_work(i);
        }
        let report = within(LIMIT, move || {
            telemetry.shutdown_with_timeout(Duration::from_secs(30))
        });
        for (what, s) in [("spans", report.stats.spans), ("logs", report.stats.logs)] {
            assert_eq!(s.emitted, 10, "{what}: {s:?}");
            assert_eq!(s.exported, 7, "{what}: {s:?}");
            assert_eq!(s.dropped(DropReason::Rejected), 3, "{what}: {s:?}");
            assert_eq!(
                s.emitted,
                s.exported + s.dropped(DropReason::Rejected),
                "{what}: {s:?}"
            );
        }
        let lines = receiver.wait_for(Duration::from_secs(20), |l| spans(l).len() >= 10);
        assert_eq!(spans(&lines).len(), 10);
    });
}
