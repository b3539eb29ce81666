//! The peers' discarding back ends: an OpenTelemetry `SpanExporter` and a fastrace `Reporter`
//! that count what they are handed and drop it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use instrument_benches::runner::{timed_loop, Call};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter};

/// Spans handed to [`DiscardSpans`] (delivered by the batch span processor).
pub static OTEL_DELIVERED: AtomicU64 = AtomicU64::new(0);
/// Calls made by the OpenTelemetry cases (counted per chunk, off the hot path).
pub static OTEL_CALLS: AtomicU64 = AtomicU64::new(0);
/// Spans handed to [`DiscardReporter`].
pub static FASTRACE_DELIVERED: AtomicU64 = AtomicU64::new(0);
/// Calls made by the fastrace case.
pub static FASTRACE_CALLS: AtomicU64 = AtomicU64::new(0);

/// An OpenTelemetry span exporter that counts and discards.
#[derive(Debug)]
pub struct DiscardSpans;

impl SpanExporter for DiscardSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        OTEL_DELIVERED.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// An SDK tracer provider with the batch span processor (its defaults: queue 2048, batch 512,
/// 5 s delay, its own thread) exporting into [`DiscardSpans`].
pub fn otel_provider() -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(DiscardSpans).build())
        .build()
}

/// Name of the batch span processor's thread (the kernel keeps 15 bytes of it).
pub const OTEL_BSP_THREAD: &str = "OpenTelemetry.Traces.BatchProcessor";

/// Timed loop that also counts the calls (once per chunk).
pub fn otel_chunk(call: Call, n: u64) -> Duration {
    OTEL_CALLS.fetch_add(n, Ordering::Relaxed);
    timed_loop(call, n)
}

/// `(emitted, delivered, dropped)` of the OpenTelemetry cases so far; `flush` first.
pub fn otel_accounting(flush: fn()) -> (u64, u64, u64) {
    flush();
    let calls = OTEL_CALLS.load(Ordering::Relaxed);
    let delivered = OTEL_DELIVERED.load(Ordering::Relaxed);
    (calls, delivered, calls.saturating_sub(delivered))
}

/// A fastrace reporter that counts and discards.
pub struct DiscardReporter;

impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        // The chunk roots are not calls of the benchmarked function: not counted.
        let children = spans.iter().filter(|s| s.name != "root").count();
        FASTRACE_DELIVERED.fetch_add(children as u64, Ordering::Relaxed);
    }
}

/// Runs `n` calls inside a new sampled fastrace root (made and finished outside the timed
/// region): what a request handler with `n` traced calls does.
pub fn fastrace_chunk(call: Call, n: u64) -> Duration {
    use fastrace::prelude::*;
    FASTRACE_CALLS.fetch_add(n, Ordering::Relaxed);
    let root = Span::root("root", SpanContext::random());
    let guard = root.set_local_parent();
    let took = timed_loop(call, n);
    drop(guard);
    drop(root);
    took
}

/// `(emitted, delivered, dropped)` of the fastrace case so far.
pub fn fastrace_accounting() -> (u64, u64, u64) {
    fastrace::flush();
    let calls = FASTRACE_CALLS.load(Ordering::Relaxed);
    let delivered = FASTRACE_DELIVERED.load(Ordering::Relaxed);
    (calls, delivered, calls.saturating_sub(delivered))
}

/// The process's OTel provider and tracer (batch processor into [`DiscardSpans`]).
pub fn otel() -> &'static (SdkTracerProvider, opentelemetry_sdk::trace::SdkTracer) {
    use opentelemetry::trace::TracerProvider as _;
    static OTEL: std::sync::OnceLock<(SdkTracerProvider, opentelemetry_sdk::trace::SdkTracer)> =
        std::sync::OnceLock::new();
    OTEL.get_or_init(|| {
        let provider = otel_provider();
        let tracer = provider.tracer("bench");
        (provider, tracer)
    })
}

/// The trivial fn inside `tracer.in_span`.
#[inline(never)]
pub fn otel_in_span(x: u64) -> u64 {
    use opentelemetry::trace::Tracer as _;
    otel().1.in_span("otel_in_span", |_cx| {
        std::hint::black_box(x).wrapping_mul(3)
    })
}
