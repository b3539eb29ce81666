//! Span kind, events, links and status through the whole pipeline (span handle, manual spans,
//! the `tracing` bridge) to the real OTLP receiver (`ci/otlp_receiver.py`), with the `tracing`
//! layer installed at TRACE for every target: the OTLP exporter's own `tracing` output (h2,
//! hyper, tonic, tower) reaches the user's layers but is never exported, and never recurses
//! or deadlocks (the scenario runs under a watchdog).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
use instrument_runtime::{current_span, instrument, span, SpanKind, SpanStatus};
use instrument_tests::isolated;

mod otlp_support;
use otlp_support::{array, find, items, read_lines, receiver_python, signal, Receiver};
use tracing_subscriber::layer::{Context, SubscriberExt};

const T: Duration = Duration::from_secs(90);

/// Counts the `tracing` events the pipeline's network stack emits (so the test proves there
/// was something not to export).
struct CountLibraryEvents(Arc<AtomicUsize>);

fn is_network_stack(target: &str) -> bool {
    ["h2", "hyper", "tonic", "tower", "reqwest"]
        .iter()
        .any(|p| target.starts_with(p))
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountLibraryEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if is_network_stack(event.metadata().target()) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[instrument]
fn handle_order(producer: instrument_runtime::SpanContext) {
    let s = current_span();
    s.set_kind(SpanKind::Server);
    s.follows_from(producer);
    s.add_event("validated", &[("items", &3)]);
    s.set_status(SpanStatus::Error {
        message: "out of stock".into(),
    });
    let _lib = tracing::info_span!("lib.call", otel.kind = "client").entered();
    tracing::info!(sku = "A-1", "calling the library");
}

#[test]
fn kind_events_links_reach_the_receiver_and_the_exporters_tracing_is_not_exported() {
    isolated(
        "kind_events_links_reach_the_receiver_and_the_exporters_tracing_is_not_exported",
        T,
        || {
            let Some(python) = receiver_python() else {
                return;
            };
            let receiver = Receiver::start(&python, &[]);
            let exporter = OtlpExporter::builder()
                .endpoint(receiver.endpoint(Protocol::Grpc))
                .protocol(Protocol::Grpc)
                .timeout(Duration::from_secs(10))
                .build()
                .expect("valid configuration");
            let telemetry = instrument_runtime::builder()
                .service_name("span-detail")
                .exporter(exporter)
                .install()
                .expect("install");
            let library_events = Arc::new(AtomicUsize::new(0));
            let subscriber = tracing_subscriber::registry()
                .with(tracing_subscriber::filter::LevelFilter::TRACE)
                .with(instrument_runtime::tracing_bridge::layer())
                .with(CountLibraryEvents(Arc::clone(&library_events)));
            tracing::subscriber::set_global_default(subscriber).unwrap();

            let producer = span("enqueue").kind(SpanKind::Producer).start();
            let producer_ctx = producer.context();
            producer.end();
            handle_order(producer_ctx);
            // Two rounds: the second export runs while the first one's connection logs.
            assert!(telemetry.flush(Duration::from_secs(20)).completed);
            handle_order(producer_ctx);
            assert!(telemetry.flush(Duration::from_secs(20)).completed);
            assert!(
                library_events.load(Ordering::Relaxed) > 0,
                "the exporter's network stack emitted no tracing events: nothing was tested"
            );
            let lines = read_lines(&receiver.out);
            drop(telemetry);
            drop(receiver);

            let spans = items(
                &signal(&lines, "traces"),
                "resourceSpans",
                "scopeSpans",
                "spans",
            );
            assert_eq!(spans.len(), 1 + 2 * 2, "{spans:#?}");
            let producer_json = find(&spans, "name", "enqueue");
            assert_eq!(producer_json["kind"], "SPAN_KIND_PRODUCER");
            let orders: Vec<_> = spans
                .iter()
                .filter(|s| s["name"] == "handle_order")
                .collect();
            assert_eq!(orders.len(), 2);
            for o in &orders {
                assert_eq!(o["kind"], "SPAN_KIND_SERVER", "{o}");
                assert_eq!(o["status"]["code"], "STATUS_CODE_ERROR", "{o}");
                assert_eq!(o["status"]["message"], "out of stock", "{o}");
                let events = array(&o["events"]);
                assert_eq!(events.len(), 1, "{o}");
                assert_eq!(events[0]["name"], "validated");
                assert_eq!(events[0]["attributes"][0]["key"], "items");
                let links = array(&o["links"]);
                assert_eq!(links.len(), 1, "{o}");
                assert_eq!(links[0]["spanId"], producer_json["spanId"]);
                assert_eq!(links[0]["traceId"], producer_json["traceId"]);
            }
            let libs: Vec<_> = spans.iter().filter(|s| s["name"] == "lib.call").collect();
            assert_eq!(libs.len(), 2);
            assert!(libs.iter().all(|l| l["kind"] == "SPAN_KIND_CLIENT"));

            let logs = items(
                &signal(&lines, "logs"),
                "resourceLogs",
                "scopeLogs",
                "logRecords",
            );
            let bodies: Vec<_> = logs
                .iter()
                .map(|l| l["body"]["stringValue"].clone())
                .collect();
            assert_eq!(logs.len(), 2, "only the application's events: {bodies:?}");
            assert!(logs
                .iter()
                .all(|l| l["body"]["stringValue"] == "calling the library"));
            let scopes: Vec<String> = signal(&lines, "logs")
                .iter()
                .flat_map(|r| array(&r["resourceLogs"]).to_vec())
                .flat_map(|r| array(&r["scopeLogs"]).to_vec())
                .map(|s| s["scope"]["name"].as_str().unwrap_or("").to_owned())
                .collect();
            assert!(!scopes.iter().any(|s| is_network_stack(s)), "{scopes:?}");
        },
    );
}
