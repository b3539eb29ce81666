//! Per-call cost of the peers that need no process-global subscriber: `tracing` with no
//! subscriber, the `opentelemetry` SDK's `tracer.in_span` (batch span processor, discarding
//! exporter), `fastrace` `#[trace]` inside a sampled root (discarding reporter) and
//! `autometrics` (prometheus exporter), against the baseline and the floors of this process.

mod common;

use std::hint::black_box;

use common::peers::{self, otel_accounting, otel_chunk};
use common::Bench;
use instrument_benches::floor;
use instrument_benches::runner::Case;

/// Calls per chunk of the exporting cases: half the batch span processor's queue (2048), so a
/// chunk never overflows it when flushed between chunks.
const CHUNK: u64 = 1024;

// `skip_all`: like ours, record no argument (tracing records every argument by default).
#[tracing::instrument(skip_all)]
#[inline(never)]
fn tracing_no_subscriber(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

fn otel_flush() {
    let _ = peers::otel().0.force_flush();
}

#[fastrace::trace]
#[inline(never)]
fn fastrace_trace(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[autometrics::autometrics]
#[inline(never)]
fn autometrics_fn(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

fn main() {
    fastrace::set_reporter(
        peers::DiscardReporter,
        fastrace::collector::Config::default(),
    );
    autometrics::prometheus_exporter::init();
    peers::otel();

    let benches = [
        Bench::new("baseline", Case::new(floor::work)),
        Bench::new("tsc_pair", Case::new(floor::tsc_pair)),
        Bench::new("tracing_no_subscriber", Case::new(tracing_no_subscriber)),
        Bench::new(
            "otel_in_span",
            Case::new(peers::otel_in_span)
                .chunked(CHUNK, otel_flush)
                .with_chunk_runner(otel_chunk),
        )
        .accounting(|| otel_accounting(otel_flush)),
        Bench::new(
            "otel_in_span_saturating",
            Case::new(peers::otel_in_span).with_chunk_runner(otel_chunk),
        )
        .accounting(|| otel_accounting(otel_flush)),
        Bench::new(
            "fastrace",
            Case::new(fastrace_trace)
                .chunked(CHUNK, fastrace::flush)
                .with_chunk_runner(peers::fastrace_chunk),
        )
        .accounting(peers::fastrace_accounting),
        Bench::new("autometrics", Case::new(autometrics_fn)),
    ];

    let mut c = common::criterion();
    common::run(&mut c, "peers", &benches);
    c.final_summary();
    // Check that autometrics really counted: its exporter renders the function's series.
    match autometrics::prometheus_exporter::encode_to_string() {
        Ok(text) => {
            let series = text
                .lines()
                .filter(|l| !l.starts_with('#') && l.contains("autometrics_fn"))
                .count();
            common::side("peers/autometrics", "series_rendered", series);
        }
        Err(e) => common::side(
            "peers/autometrics",
            "series_rendered",
            format!("error: {e}"),
        ),
    }
    let _ = peers::otel().0.shutdown();
}
