//! Per-call cost of instrument-runtime, sampled, against the uninstrumented function and the
//! floors, in one process (one pipeline: `sample_ratio(1.0)`, `NoopExporter`, default ring).

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::Bench;
use instrument_benches::floor::{self, floor_flush, FLOOR_RING_CAPACITY};
use instrument_benches::runner::{Call, Case, Clock};
use instrument_runtime::{instrument, Label, NoopExporter};

/// Ring capacity of the pipeline and the floor (instrument-runtime's default).
const RING: usize = 4096;
/// Calls per chunk in the flushed cases: half the ring, so a chunk never fills it (spans are
/// admitted while the ring is at most 80% full) and the exporter's half-full wake-up does not
/// fire inside the timed region.
const CHUNK: u64 = RING as u64 / 2;

#[instrument]
#[inline(never)]
fn ours(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

/// Calls per root in the "inside a parent" case.
const PER_ROOT: u64 = 100;

/// A request: `n` calls inside one sampled root span (the root is timed too: 1 per 100 calls).
#[instrument]
#[inline(never)]
fn request(call: Call, n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        acc = acc.wrapping_add(black_box(call(black_box(i))));
    }
    acc
}

/// Runs `n` calls as requests of [`PER_ROOT`] calls, timed with their roots.
fn in_parent_chunk(call: Call, n: u64) -> Duration {
    let start = Clock::now();
    let mut done = 0;
    while done < n {
        let k = PER_ROOT.min(n - done);
        black_box(request(call, k));
        done += k;
    }
    start.elapsed()
}

/// Disabled by the filter (`calls_ours::disabled=off`).
mod disabled {
    use std::hint::black_box;

    #[instrument_runtime::instrument]
    #[inline(never)]
    pub fn ours_disabled(x: u64) -> u64 {
        black_box(x).wrapping_mul(3)
    }
}

static FLUSHES: AtomicU64 = AtomicU64::new(0);
static FLUSH_NANOS: AtomicU64 = AtomicU64::new(0);

#[derive(Label, Clone, Copy)]
enum Method {
    Get,
    Post,
}

#[derive(Label, Clone, Copy)]
enum Region {
    Eu,
    Us,
}

/// Two labels, both varying with the argument: four series (x `result`) hit in turn.
#[instrument(labels(
    method = if x & 1 == 0 { Method::Get } else { Method::Post },
    region = if x & 2 == 0 { Region::Eu } else { Region::Us },
))]
#[inline(never)]
fn ours_labels(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

fn flush() {
    let started = std::time::Instant::now();
    let report = instrument_runtime::flush(Duration::from_secs(10));
    assert!(report.completed, "flush timed out: {report:?}");
    FLUSHES.fetch_add(1, Ordering::Relaxed);
    FLUSH_NANOS.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

fn accounting() -> (u64, u64, u64) {
    flush();
    let s = instrument_runtime::stats().spans;
    (s.emitted, s.exported, s.dropped_total())
}

fn floor_accounting() -> (u64, u64, u64) {
    floor_flush();
    let (written, dropped) = floor::floor_counts();
    (written + dropped, written, dropped)
}

fn main() {
    FLOOR_RING_CAPACITY.store(RING as u64, Ordering::Relaxed);
    let telemetry = instrument_runtime::builder()
        .service_name("bench")
        .exporter(NoopExporter)
        .sample_ratio(1.0)
        .ring_capacity(RING)
        .filter("info,calls_ours::disabled=off".parse().expect("filter"))
        .install()
        .expect("install the pipeline");

    let benches = [
        Bench::new("baseline", Case::new(floor::work)),
        Bench::new("tsc_pair", Case::new(floor::tsc_pair)),
        Bench::new("rdtsc_pair", Case::new(floor::rdtsc_pair)),
        Bench::new("instant_pair", Case::new(floor::instant_pair)),
        Bench::new(
            "floor_span",
            Case::new(floor::floor_span).chunked(CHUNK, floor_flush),
        )
        .accounting(floor_accounting)
        .many(),
        Bench::new("ours_sampled", Case::new(ours).chunked(CHUNK, flush))
            .accounting(accounting)
            .many(),
        // 1 root per 100 calls (the root's own cost included), as fastrace's row runs inside a
        // sampled root.
        Bench::new(
            "ours_in_parent",
            Case::new(ours)
                .chunked(CHUNK, flush)
                .with_chunk_runner(in_parent_chunk),
        )
        .accounting(accounting)
        .many(),
        Bench::new("ours_disabled", Case::new(disabled::ours_disabled)),
        Bench::new(
            "ours_two_labels",
            Case::new(ours_labels).chunked(CHUNK, flush),
        )
        .accounting(accounting),
        // No flush between chunks: the exporter drains concurrently (woken at half full) and
        // the ring drops what it cannot take; the drop share is in the side results.
        Bench::new("ours_sampled_saturating", Case::new(ours)).accounting(accounting),
    ];

    let mut c = common::criterion();
    common::run(&mut c, "ours", &benches);
    c.final_summary();
    let flushes = FLUSHES.load(Ordering::Relaxed).max(1);
    common::side(
        "ours",
        "flush_mean_us",
        FLUSH_NANOS.load(Ordering::Relaxed) / flushes / 1000,
    );
    drop(telemetry);
}
