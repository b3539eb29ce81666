//! End to end with a real `tracing` producer: an axum router behind tower-http's `TraceLayer`,
//! a handler that calls an `#[instrument]` function and emits `tracing::info!` with fields,
//! with a fmt layer and an `EnvFilter` installed next to the bridge. One trace: our span ->
//! tower-http's request span -> our function, and the events as log records with our ids.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use instrument_runtime::export::Value;
use instrument_runtime::testing::TestExporter;
use instrument_runtime::tracing_bridge::{layer, WithTraceIds};
use instrument_runtime::{instrument, span, SpanKind};
use instrument_tests::isolated;
use tower::ServiceExt as _;
use tower_http::trace::TraceLayer;
use tracing_subscriber::layer::SubscriberExt;

const T: Duration = Duration::from_secs(30);

#[derive(Clone, Default)]
struct Printed(Arc<Mutex<Vec<u8>>>);

impl Write for Printed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[instrument]
async fn load_user(id: u32) -> String {
    tokio::task::yield_now().await;
    format!("user-{id}")
}

async fn handler(Path(id): Path<u32>) -> String {
    let name = load_user(id).await;
    tracing::info!(user.id = id, user.name = %name, "loaded user");
    name
}

#[test]
fn axum_tower_http_request_is_one_trace() {
    isolated("axum_tower_http_request_is_one_trace", T, || {
        let (exporter, c) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            // tower-http's request span is at DEBUG: our filter must let it in too (the same
            // directives as the EnvFilter of the fmt layer below).
            .filter("info,tower_http=debug".parse().unwrap())
            .install()
            .unwrap();
        let printed = Printed::default();
        let writer = printed.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("info,tower_http=debug"))
            .with(layer())
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .event_format(WithTraceIds::default())
                    .with_writer(move || writer.clone()),
            );
        tracing::subscriber::set_global_default(subscriber).unwrap();

        let app = Router::new()
            .route("/users/{id}", get(handler))
            .layer(TraceLayer::new_for_http());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let body = rt.block_on(span("GET /users/{id}").kind(SpanKind::Server).instrument(
            async move {
                let request = axum::http::Request::builder()
                    .uri("/users/7")
                    .body(Body::empty())
                    .unwrap();
                let response = app.oneshot(request).await.unwrap();
                assert_eq!(response.status(), 200);
                let bytes = axum::body::to_bytes(response.into_body(), 1024)
                    .await
                    .unwrap();
                String::from_utf8(bytes.to_vec()).unwrap()
            },
        ));
        assert_eq!(body, "user-7");
        assert!(telemetry.flush(T).completed);

        let spans = c.spans();
        assert_eq!(spans.len(), 3, "{spans:#?}");
        let ours = spans.iter().find(|s| s.name == "GET /users/{id}").unwrap();
        let library = spans.iter().find(|s| s.name == "request").unwrap();
        let inner = spans.iter().find(|s| s.name == "load_user").unwrap();
        assert_eq!(ours.kind, SpanKind::Server);
        assert_eq!(ours.parent_span_id, None);
        assert_eq!(library.parent_span_id, Some(ours.span_id));
        assert_eq!(inner.parent_span_id, Some(library.span_id));
        assert!(spans.iter().all(|s| s.trace_id == ours.trace_id));
        assert_eq!(library.target, "tower_http::trace::make_span");
        let get = |k: &str| {
            library
                .attributes
                .iter()
                .find(|kv| kv.key == k)
                .map(|kv| &kv.value)
        };
        assert_eq!(get("method"), Some(&Value::from("GET")));
        assert_eq!(get("uri"), Some(&Value::from("/users/7")));

        let logs = c.logs();
        let loaded: Vec<_> = logs.iter().filter(|l| l.body == "loaded user").collect();
        assert_eq!(loaded.len(), 1, "{logs:#?}");
        let l = loaded[0];
        assert_eq!(l.trace_id, Some(ours.trace_id));
        assert_eq!(
            l.span_id,
            Some(library.span_id),
            "the handler runs in the request span"
        );
        let la = |k: &str| {
            l.attributes
                .iter()
                .find(|kv| kv.key == k)
                .map(|kv| &kv.value)
        };
        assert_eq!(la("user.id"), Some(&Value::I64(7)));
        assert_eq!(la("user.name"), Some(&Value::from("user-7")));
        // tower-http's own events (started/finished processing request, end of stream), in the
        // request span.
        let lib_events: Vec<_> = logs
            .iter()
            .filter(|l| l.target.starts_with("tower_http"))
            .collect();
        assert_eq!(lib_events.len(), 3, "{logs:#?}");
        assert!(lib_events
            .iter()
            .all(|e| e.span_id == Some(library.span_id)));
        assert_eq!(logs.len(), 4);

        // The fmt layer printed the same four events, each with our ids.
        let text = String::from_utf8(printed.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        let prefix = format!("trace_id={} span_id={} ", ours.trace_id, library.span_id);
        assert!(text.lines().all(|line| line.starts_with(&prefix)), "{text}");
    });
}
