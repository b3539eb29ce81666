//! Per-call cost of instrument-runtime, unsampled (`sample_ratio(0.0)`: timing + histogram, no
//! record), with the exporter thread running, against the baseline and the TSC-pair floor
//! measured in the same process.

mod common;

use std::hint::black_box;

use common::Bench;
use instrument_benches::floor;
use instrument_benches::runner::Case;
use instrument_runtime::{instrument, NoopExporter};

#[instrument]
#[inline(never)]
fn ours(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

fn main() {
    let telemetry = instrument_runtime::builder()
        .service_name("bench")
        .exporter(NoopExporter)
        .sample_ratio(0.0)
        .install()
        .expect("install the pipeline");

    let benches = [
        Bench::new("baseline", Case::new(floor::work)),
        Bench::new("tsc_pair", Case::new(floor::tsc_pair)),
        Bench::new("rdtsc_pair", Case::new(floor::rdtsc_pair)),
        Bench::new("ours_unsampled", Case::new(ours)).many(),
    ];

    let mut c = common::criterion();
    common::run(&mut c, "unsampled", &benches);
    c.final_summary();
    let spans = telemetry.stats().spans;
    common::side("unsampled", "span_records_emitted", spans.emitted);
    drop(telemetry);
}
