//! OTLP over TLS and mTLS, gRPC and HTTP/protobuf, gzip on and off, against the real receiver
//! (oteltest's sink served over TLS by `ci/otlp_receiver.py`; certificates made here with
//! rcgen). A wrong CA fails with a clear error, and through the pipeline its records are
//! counted as dropped. Without the receiver's venv the tests are skipped, unless
//! `INSTRUMENT_REQUIRE_RECEIVERS=1`.

mod otlp_support;

use std::time::Duration;

use instrument_runtime::export::otlp::{Compression, OtlpExporter, Protocol};
use instrument_runtime::{DropReason, ExportErrorKind, Exporter};
use instrument_tests::{isolated, within};
use otlp_support::{
    batch, logs, receiver_python, requests, resource_attribute, spans, Certs, Receiver,
};

const LIMIT: Duration = Duration::from_secs(90);

/// Exports one batch (3 spans, 2 logs, 1 counter) with the given settings and checks what the
/// receiver decoded, including the gzip header on HTTP and the detected resource.
fn round_trip(receiver: &Receiver, certs: &Certs, protocol: Protocol, gzip: bool, mtls: bool) {
    let mut builder = OtlpExporter::builder()
        .endpoint(receiver.endpoint(protocol))
        .protocol(protocol)
        .certificate(&certs.ca)
        .timeout(Duration::from_secs(10));
    if gzip {
        builder = builder.compression(Compression::Gzip);
    }
    if mtls {
        builder = builder.client_certificate(&certs.client_cert, &certs.client_key);
    }
    let mut exporter = builder.build().expect("valid configuration");
    let before = receiver.lines().len();
    let result = within(LIMIT, move || {
        let r = exporter.export(&batch(3, 2));
        let _ = exporter.shutdown();
        r
    });
    result.unwrap_or_else(|e| panic!("{protocol} gzip={gzip} mtls={mtls}: {e}"));
    let lines = receiver.wait_for(Duration::from_secs(20), |lines| lines.len() >= before + 3);
    let new = &lines[before..];
    assert_eq!(spans(new).len(), 3, "{protocol} gzip={gzip}");
    assert_eq!(logs(new).len(), 2, "{protocol} gzip={gzip}");
    assert_eq!(requests(new, "metrics").len(), 1, "{protocol} gzip={gzip}");
    for line in new {
        let transport = if protocol == Protocol::Grpc {
            "grpc"
        } else {
            "http"
        };
        assert_eq!(line["transport"], transport);
        if protocol == Protocol::HttpProtobuf {
            let encoding = line["headers"]["content-encoding"].as_str();
            assert_eq!(encoding, gzip.then_some("gzip"), "{line}");
        }
        for key in [
            "service.instance.id",
            "process.pid",
            "telemetry.sdk.name",
            "host.name",
        ] {
            assert!(
                resource_attribute(line, key).is_some(),
                "{key} missing in {line}"
            );
        }
        let pid = resource_attribute(line, "process.pid").unwrap();
        assert_eq!(pid["intValue"], std::process::id().to_string());
    }
}

#[test]
fn tls_and_mtls_over_grpc_and_http_with_and_without_gzip() {
    let Some(python) = receiver_python() else {
        return;
    };
    let certs = Certs::generate();
    for mtls in [false, true] {
        let receiver = Receiver::start(&python, &certs.receiver_args(mtls));
        for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
            for gzip in [false, true] {
                round_trip(&receiver, &certs, protocol, gzip, mtls);
            }
        }
    }
}

#[test]
fn mtls_without_a_client_certificate_fails() {
    let Some(python) = receiver_python() else {
        return;
    };
    let certs = Certs::generate();
    let receiver = Receiver::start(&python, &certs.receiver_args(true));
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let mut exporter = OtlpExporter::builder()
            .endpoint(receiver.endpoint(protocol))
            .protocol(protocol)
            .certificate(&certs.ca)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let err = within(LIMIT, move || exporter.export(&batch(1, 0))).unwrap_err();
        assert_ne!(err.kind, ExportErrorKind::Timeout, "{protocol}: {err}");
    }
    assert_eq!(spans(&receiver.lines()).len(), 0);
}

#[test]
fn a_wrong_ca_is_a_clear_error() {
    let Some(python) = receiver_python() else {
        return;
    };
    let certs = Certs::generate();
    let receiver = Receiver::start(&python, &certs.receiver_args(false));
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let mut exporter = OtlpExporter::builder()
            .endpoint(receiver.endpoint(protocol))
            .protocol(protocol)
            .certificate(&certs.other_ca)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let err = within(LIMIT, move || exporter.export(&batch(2, 1))).unwrap_err();
        assert_eq!(err.kind, ExportErrorKind::Permanent, "{protocol}: {err}");
        let text = err.message.to_lowercase();
        assert!(
            text.contains("certificate")
                && (text.contains("unknownissuer") || text.contains("issuer")),
            "{protocol}: not a clear TLS error: {err}"
        );
    }
    assert_eq!(spans(&receiver.lines()).len(), 0);
}

#[instrument_runtime::instrument]
fn tls_work(i: u64) -> u64 {
    i + 1
}

/// Through the pipeline: every span sent to a collector with the wrong CA is counted as
/// dropped (export failed), and the books balance.
#[test]
fn a_wrong_ca_counts_drops_in_the_pipeline() {
    isolated("a_wrong_ca_counts_drops_in_the_pipeline", LIMIT, || {
        let Some(python) = receiver_python() else {
            return;
        };
        let certs = Certs::generate();
        let receiver = Receiver::start(&python, &certs.receiver_args(false));
        let exporter = OtlpExporter::builder()
            .endpoint(receiver.endpoint(Protocol::HttpProtobuf))
            .certificate(&certs.other_ca)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .export_interval(Duration::from_secs(3600))
            .install()
            .unwrap();
        for i in 0..5 {
            tls_work(i);
        }
        let report = within(LIMIT, move || {
            telemetry.shutdown_with_timeout(Duration::from_secs(30))
        });
        let s = report.stats.spans;
        assert_eq!(s.emitted, 5, "{s:?}");
        assert_eq!(s.exported, 0, "{s:?}");
        assert_eq!(s.dropped(DropReason::ExportFailed), 5, "{s:?}");
        assert!(s.balances(), "{s:?}");
        assert_eq!(spans(&receiver.lines()).len(), 0);
    });
}

#[test]
fn bad_certificate_files_are_clear_errors() {
    let err = OtlpExporter::builder()
        .endpoint("https://127.0.0.1:1")
        .certificate("/nonexistent/ca.pem")
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    let not_pem = std::env::temp_dir().join(format!("instrument-not-pem-{}", std::process::id()));
    std::fs::write(&not_pem, "hello").unwrap();
    let err = OtlpExporter::builder()
        .certificate(&not_pem)
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds no PEM certificate"), "{err}");
    let err = OtlpExporter::builder()
        .client_certificate(&not_pem, "/nonexistent/key.pem")
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("client certificate"), "{err}");
    let _ = std::fs::remove_file(not_pem);
}
