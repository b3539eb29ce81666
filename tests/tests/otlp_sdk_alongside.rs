//! Our `otlp` feature must not change what the application's own OpenTelemetry setup does.
//!
//! This test binary links opentelemetry-otlp with its default features (HTTP/protobuf with the
//! blocking reqwest client) and instrument-runtime with `otlp`, so Cargo unifies their
//! features. If instrument-runtime turned on opentelemetry-otlp's `reqwest-client` (as it once
//! did), the application's `SpanExporter::builder().with_http().build()` would get the async
//! client, and the SDK's thread-based batch processor would panic "there is no reactor
//! running" and export nothing. Both pipelines export to the real receiver here.

mod otlp_support;

use std::time::Duration;

use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
use instrument_runtime::Exporter;
use instrument_tests::within;
use opentelemetry::trace::{Tracer, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use otlp_support::{batch, receiver_python, spans, Receiver};

#[test]
fn the_sdk_batch_processor_with_its_default_client_exports_beside_us() {
    let Some(python) = receiver_python() else {
        return;
    };
    let receiver = Receiver::start(&python, &[]);
    let http = receiver.endpoint(Protocol::HttpProtobuf);
    let ours = within(Duration::from_secs(60), move || {
        // The application's own setup, as opentelemetry-otlp's docs show it.
        let sdk_exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{http}/v1/traces"))
            .build()
            .expect("the SDK's default HTTP exporter");
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(sdk_exporter)
            .build();
        let tracer = provider.tracer("application");
        for _ in 0..3 {
            tracer.in_span("sdk_span", |_cx| {});
        }
        // Ours, in the same process.
        let mut exporter = OtlpExporter::builder().endpoint(http).build().unwrap();
        let ours = exporter.export(&batch(2, 0));
        let flushed = provider.force_flush();
        let shut = provider.shutdown();
        (ours, flushed, shut)
    });
    let (ours, flushed, shut) = ours;
    ours.expect("our export");
    flushed.expect("the SDK's batch processor flushed");
    shut.expect("the SDK's provider shut down");
    let lines = receiver.wait_for(Duration::from_secs(20), |l| {
        let s = spans(l);
        s.iter().filter(|s| s["name"] == "sdk_span").count() == 3
            && s.iter().filter(|s| s["name"] == "tls_span").count() == 2
    });
    assert_eq!(spans(&lines).len(), 5);
}
