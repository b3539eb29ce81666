//! Cost of a `tracing::info!` with two fields, through the `tracing` bridge inside one of our
//! sampled spans (the record goes through the ring to the exporter thread), against `tracing`
//! with `tracing_subscriber::registry()` and a fmt-less layer: one that does nothing with the
//! event (pure dispatch) and one that visits its fields into a `Vec` (the least a layer that
//! keeps the event does). Each configuration is its own scoped dispatcher in one process, so
//! every row pays the same scoped-dispatch lookup; the uninstrumented fn is the floor.

mod common;

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use common::Bench;
use instrument_benches::floor;
use instrument_benches::runner::{timed_loop, Call, Case};
use instrument_runtime::NoopExporter;
use tracing::field::{Field, Visit};
use tracing::Dispatch;
use tracing_subscriber::layer::{Context, SubscriberExt};

const RING: usize = 4096;
/// Records per chunk: half the ring, flushed (untimed) between chunks, so none is dropped.
const CHUNK: u64 = RING as u64 / 4;

#[inline(never)]
fn event(x: u64) -> u64 {
    tracing::info!(user = x, route = "/users", "request handled");
    black_box(x)
}

/// A layer that ignores every event (registry dispatch only).
struct Nothing;
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Nothing {}

/// A layer that visits the event's fields into a `Vec` and drops it.
struct Visits;
struct Collect(Vec<(&'static str, String)>);
impl Visit for Collect {
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.0.push((f.name(), v.to_string()));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.push((f.name(), v.to_owned()));
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.push((f.name(), format!("{v:?}")));
    }
}
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Visits {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut c = Collect(Vec::with_capacity(3));
        event.record(&mut c);
        black_box(c);
    }
}

fn dispatch(slot: &'static OnceLock<Dispatch>, make: fn() -> Dispatch) -> &'static Dispatch {
    slot.get_or_init(make)
}

static BRIDGE: OnceLock<Dispatch> = OnceLock::new();
static NOTHING: OnceLock<Dispatch> = OnceLock::new();
static VISITS: OnceLock<Dispatch> = OnceLock::new();

fn bridge() -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(instrument_runtime::tracing_bridge::layer()))
}
fn nothing() -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(Nothing))
}
fn visits() -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(Visits))
}

/// The events inside one of our sampled (manual) spans, through the bridge.
fn run_bridge(call: Call, n: u64) -> Duration {
    tracing::dispatcher::with_default(dispatch(&BRIDGE, bridge), || {
        let _span = instrument_runtime::span("bench").entered();
        timed_loop(call, n)
    })
}
fn run_nothing(call: Call, n: u64) -> Duration {
    tracing::dispatcher::with_default(dispatch(&NOTHING, nothing), || timed_loop(call, n))
}
fn run_visits(call: Call, n: u64) -> Duration {
    tracing::dispatcher::with_default(dispatch(&VISITS, visits), || timed_loop(call, n))
}

fn flush() {
    let report = instrument_runtime::flush(Duration::from_secs(10));
    assert!(report.completed, "flush timed out: {report:?}");
}

fn accounting() -> (u64, u64, u64) {
    flush();
    let s = instrument_runtime::stats().logs;
    (s.emitted, s.exported, s.dropped_total())
}

fn main() {
    let telemetry = instrument_runtime::builder()
        .service_name("bench")
        .exporter(NoopExporter)
        .sample_ratio(1.0)
        .ring_capacity(RING)
        .log_bridge(false)
        .install()
        .expect("install");
    let benches = [
        Bench::new("baseline", Case::new(floor::work)),
        Bench::new(
            "tracing_registry_nothing",
            Case::new(event).with_chunk_runner(run_nothing),
        ),
        Bench::new(
            "tracing_registry_visits",
            Case::new(event).with_chunk_runner(run_visits),
        ),
        Bench::new(
            "bridge_event_in_our_span",
            Case::new(event)
                .with_chunk_runner(run_bridge)
                .chunked(CHUNK, flush),
        )
        .accounting(accounting),
    ];
    let mut c = common::criterion();
    common::run(&mut c, "tracing_bridge", &benches);
    c.final_summary();
    drop(telemetry);
}
