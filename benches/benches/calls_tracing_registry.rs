//! Per-call cost of `tracing`'s `#[instrument]` with tracing-subscriber's `Registry` as the
//! global subscriber (its own process: the global default can be set once).

mod common;

use std::hint::black_box;

use common::Bench;
use instrument_benches::floor;
use instrument_benches::runner::Case;

#[tracing::instrument(skip_all)]
#[inline(never)]
fn tracing_registry(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

fn main() {
    tracing::subscriber::set_global_default(tracing_subscriber::registry())
        .expect("first global subscriber");
    let benches = [
        Bench::new("baseline", Case::new(floor::work)),
        Bench::new("tsc_pair", Case::new(floor::tsc_pair)),
        Bench::new("tracing_registry", Case::new(tracing_registry)),
    ];
    let mut c = common::criterion();
    common::run(&mut c, "tracing_registry", &benches);
    c.final_summary();
}
