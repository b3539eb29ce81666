//! Traces, logs and metrics over OTLP to any collector:
//!
//! ```sh
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run --example otlp   # HTTP/protobuf (the default)
//! OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
//!   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 cargo run --example otlp # gRPC
//! OTEL_EXPORTER_OTLP_ENDPOINT=https://collector:4318 OTEL_EXPORTER_OTLP_COMPRESSION=gzip \
//!   OTEL_EXPORTER_OTLP_CERTIFICATE=ca.pem cargo run --example otlp            # TLS + gzip
//! ```
//!
//! Every `OTEL_EXPORTER_OTLP_*` variable works, generic or per signal
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, ...).
//!
//! Nested instrumented calls with log records inside them, then a bounded flush and exit. The
//! exit status says whether every record reached the collector.

use std::time::Duration;

use instrument_runtime::export::otlp::OtlpExporter;
use instrument_runtime::instrument;

#[derive(Debug)]
struct PaymentDeclined;

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("payment declined")
    }
}

#[instrument(fields(cents))]
fn charge(cents: u64) -> Result<(), PaymentDeclined> {
    log::info!("charging {cents} cents");
    if cents > 10_000 {
        return Err(PaymentDeclined);
    }
    Ok(())
}

#[instrument]
fn load_cart(user: u32) -> u64 {
    log::info!("loading cart");
    u64::from(user) * 1_250
}

#[instrument(err)]
fn checkout(user: u32) -> Result<(), PaymentDeclined> {
    let total = load_cart(user);
    charge(total)
}

fn main() {
    let exporter = OtlpExporter::from_env();
    eprintln!(
        "sending OTLP ({}) to {:?}",
        exporter.protocol().as_str(),
        exporter.urls()
    );
    let telemetry = instrument_runtime::builder()
        .service_name("otlp-example")
        .exporter(exporter)
        .install()
        .expect("first install");

    for user in [1, 4, 9] {
        if checkout(user).is_err() {
            log::warn!("checkout failed for a user");
        }
    }

    let report = telemetry.shutdown_with_timeout(Duration::from_secs(15));
    let s = report.stats;
    eprintln!(
        "spans: {} exported / {} emitted; logs: {} exported / {} emitted; dropped {}",
        s.spans.exported,
        s.spans.emitted,
        s.logs.exported,
        s.logs.emitted,
        s.spans.dropped_total() + s.logs.dropped_total()
    );
    let complete = report.completed
        && s.spans.exported == s.spans.emitted
        && s.logs.exported == s.logs.emitted;
    std::process::exit(if complete { 0 } else { 1 });
}
