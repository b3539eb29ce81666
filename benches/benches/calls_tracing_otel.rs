//! Per-call cost of `tracing` `#[instrument]` + `tracing-opentelemetry` + the `opentelemetry`
//! SDK's batch span processor + a discarding exporter (its own process: global subscriber).

mod common;

use std::hint::black_box;
use std::sync::OnceLock;

use common::peers::{self, otel_accounting, otel_chunk};
use common::Bench;
use instrument_benches::floor;
use instrument_benches::runner::Case;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

const CHUNK: u64 = 1024;

#[tracing::instrument(skip_all)]
#[inline(never)]
fn tracing_otel(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

fn provider() -> &'static SdkTracerProvider {
    static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();
    PROVIDER.get_or_init(peers::otel_provider)
}

fn flush() {
    let _ = provider().force_flush();
}

fn main() {
    let layer = tracing_opentelemetry::layer().with_tracer(provider().tracer("bench"));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .expect("first global subscriber");
    let benches = [
        Bench::new("baseline", Case::new(floor::work)),
        Bench::new("tsc_pair", Case::new(floor::tsc_pair)),
        Bench::new(
            "tracing_otel",
            Case::new(tracing_otel)
                .chunked(CHUNK, flush)
                .with_chunk_runner(otel_chunk),
        )
        .accounting(|| otel_accounting(flush)),
    ];
    let mut c = common::criterion();
    common::run(&mut c, "tracing_otel", &benches);
    c.final_summary();
    let _ = provider().shutdown();
}
