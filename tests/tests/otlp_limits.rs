//! Batches over the receiver's message limit never poison the sink. The real receiver's gRPC
//! server keeps grpcio's default 4 MiB receive limit: a 5 MB batch is split under the
//! exporter's 4 MiB request limit and arrives whole; a single record over the limit is
//! rejected (counted, not retried); with the limit raised past the receiver's, the receiver's
//! `RESOURCE_EXHAUSTED` rejects that batch only; small batches after each all arrive.

mod otlp_support;

use std::time::Duration;

use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
use instrument_runtime::{Batch, ExportErrorKind, Exporter};
use instrument_tests::within;
use otlp_support::{receiver_python, span, spans, Receiver};

const LIMIT: Duration = Duration::from_secs(120);

/// `n` spans of about `bytes` bytes each, trace id `trace`.
fn spans_batch(trace: u128, n: u64, bytes: usize) -> Batch {
    Batch {
        spans: (1..=n).map(|i| span("big", trace, i, bytes)).collect(),
        ..Batch::default()
    }
}

fn count_trace(lines: &[serde_json::Value], trace: u128) -> usize {
    let hex = format!("{trace:032x}");
    spans(lines).iter().filter(|s| s["traceId"] == hex).count()
}

#[test]
fn a_5_mb_batch_is_split_and_small_batches_after_it_arrive() {
    let Some(python) = receiver_python() else {
        return;
    };
    let receiver = Receiver::start(&python, &[]);
    let endpoint = receiver.endpoint(Protocol::Grpc);
    let results = within(LIMIT, move || {
        let mut exporter = OtlpExporter::builder()
            .endpoint(endpoint)
            .protocol(Protocol::Grpc)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        // 5000 spans of ~1 KB: about 5 MB encoded.
        let big = exporter.export(&spans_batch(1, 5000, 1000));
        let huge_record = exporter.export(&spans_batch(2, 1, 5 * 1024 * 1024));
        let small: Vec<_> = (0..5)
            .map(|_| exporter.export(&spans_batch(3, 10, 10)))
            .collect();
        (big, huge_record, small)
    });
    let (big, huge_record, small) = results;
    big.expect("the 5 MB batch, split, is accepted");
    let err = huge_record.unwrap_err();
    assert_eq!(err.kind, ExportErrorKind::Rejected { count: 1 }, "{err}");
    assert!(err.message.contains("request limit"), "{err}");
    for r in small {
        r.expect("small batches after the big ones");
    }
    let lines = receiver.wait_for(Duration::from_secs(30), |l| count_trace(l, 3) == 50);
    assert_eq!(
        count_trace(&lines, 1),
        5000,
        "every span of the 5 MB batch arrived once"
    );
    assert_eq!(count_trace(&lines, 2), 0);
    let big_requests = otlp_support::requests(&lines, "traces")
        .iter()
        .filter(|l| l.to_string().contains(&format!("{:032x}", 1u128)))
        .count();
    assert!(
        big_requests >= 2,
        "the 5 MB batch was sent as {big_requests} request(s)"
    );
}

#[test]
fn a_batch_the_receiver_refuses_as_too_big_is_rejected_not_retried() {
    let Some(python) = receiver_python() else {
        return;
    };
    let receiver = Receiver::start(&python, &[]);
    let endpoint = receiver.endpoint(Protocol::Grpc);
    let (big, small) = within(LIMIT, move || {
        let mut exporter = OtlpExporter::builder()
            .endpoint(endpoint)
            .protocol(Protocol::Grpc)
            .timeout(Duration::from_secs(30))
            // Past the receiver's 4 MiB: the receiver answers RESOURCE_EXHAUSTED.
            .max_request_bytes(64 * 1024 * 1024)
            .build()
            .unwrap();
        let big = exporter.export(&spans_batch(1, 5000, 1000));
        let small: Vec<_> = (0..5)
            .map(|_| exporter.export(&spans_batch(3, 10, 10)))
            .collect();
        (big, small)
    });
    let err = big.unwrap_err();
    assert_eq!(err.kind, ExportErrorKind::Rejected { count: 5000 }, "{err}");
    for r in small {
        r.expect("small batches after the refused one");
    }
    let lines = receiver.wait_for(Duration::from_secs(30), |l| count_trace(l, 3) == 50);
    assert_eq!(count_trace(&lines, 1), 0);
}
