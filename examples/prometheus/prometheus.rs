//! A Prometheus pull endpoint: `cargo run --example prometheus`, then scrape
//! `http://127.0.0.1:9464/metrics` (address from `INSTRUMENT_PROMETHEUS_ADDR`).
//!
//! It keeps serving, with a little simulated traffic, until stopped (Ctrl-C), or for
//! `INSTRUMENT_EXAMPLE_SECONDS` seconds if set (CI uses that).

use std::time::{Duration, Instant};

use instrument_runtime::export::prometheus::PrometheusExporter;
use instrument_runtime::instrument;

#[derive(Debug)]
struct NotFound;

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not found")
    }
}

#[instrument]
fn lookup(key: u64) -> Result<u64, NotFound> {
    std::thread::sleep(Duration::from_micros(200 + key % 7 * 300));
    if key.is_multiple_of(5) {
        Err(NotFound)
    } else {
        Ok(key * 2)
    }
}

#[instrument]
fn handle(key: u64) -> u64 {
    lookup(key).unwrap_or(0)
}

fn main() {
    let exporter = match PrometheusExporter::builder().build() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot start the endpoint: {e}");
            std::process::exit(1);
        }
    };
    let addr = exporter.local_addr().expect("the endpoint is serving");
    let telemetry = instrument_runtime::builder()
        .exporter(exporter)
        .metrics_interval(Duration::from_millis(500))
        .install()
        .expect("first install");
    println!("serving Prometheus metrics on http://{addr}/metrics");

    let limit = std::env::var("INSTRUMENT_EXAMPLE_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let started = Instant::now();
    let mut key = 0;
    while limit.is_none_or(|l| started.elapsed() < l) {
        handle(key);
        key += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(telemetry);
}
