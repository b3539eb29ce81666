//! The embedded default: spans, log lines carrying their trace ids, and the latency histogram,
//! as JSON lines on stdout (`INSTRUMENT_STDOUT=pretty` for an indented span tree).
//!
//! Run it with `cargo run --example quickstart`. Whatever exporter features are compiled in,
//! with no `OTEL_*` exporter configuration only stdout runs (no collector, no port).

use std::time::Duration;

use instrument_runtime::instrument;

#[derive(Debug)]
struct OutOfStock(&'static str);

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is out of stock", self.0)
    }
}

#[instrument(fields(item))]
fn reserve(item: &'static str) -> Result<u32, OutOfStock> {
    log::info!("checking stock of {item}");
    if item == "umbrella" {
        return Err(OutOfStock(item));
    }
    Ok(3)
}

#[instrument(err, fields(order_size = items.len()))]
fn place_order(items: &[&'static str]) -> Result<u32, OutOfStock> {
    log::info!("placing an order of {} items", items.len());
    let mut total = 0;
    for item in items {
        total += reserve(item)?;
    }
    Ok(total)
}

#[instrument]
async fn handle(order: Vec<&'static str>) -> u32 {
    tokio::time::sleep(Duration::from_millis(2)).await;
    place_order(&order).unwrap_or(0)
}

fn main() {
    let telemetry = instrument_runtime::init();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let a = tokio::spawn(handle(vec!["book", "lamp"]));
        let b = tokio::spawn(handle(vec!["book", "umbrella"]));
        let (a, b) = (a.await.unwrap_or(0), b.await.unwrap_or(0));
        log::info!("reserved {a} and {b} items"); // outside any span: no trace id
    });

    // Shutting down flushes (bounded) and prints the metrics snapshot too; then the final
    // accounting of every exporter: emitted = exported + dropped + in flight.
    let report = telemetry.shutdown();
    for e in &report.stats.exporters {
        let emitted = e.spans.emitted + e.logs.emitted;
        let exported = e.spans.exported + e.logs.exported;
        let dropped = e.spans.dropped_total() + e.logs.dropped_total();
        eprintln!(
            "{}: {emitted} records ({} spans, {} logs): exported {exported}, dropped {dropped}, \
             in flight {} ({:?})",
            e.name,
            e.spans.emitted,
            e.logs.emitted,
            e.in_flight(),
            report.elapsed
        );
    }
}
