//! W3C propagation end to end: a span continues an incoming `traceparent`, an invalid one
//! starts a new trace, and `inject` writes the current span for outgoing calls.

use std::collections::HashMap;
use std::time::Duration;

use instrument_runtime::propagation::{self, RemoteContext};
use instrument_runtime::testing::TestExporter;
use instrument_runtime::{instrument, SpanContext};
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(30);

#[instrument(parent = remote)]
fn handle_request(remote: Option<RemoteContext>) -> HashMap<String, String> {
    let mut outgoing = HashMap::new();
    propagation::inject(&mut outgoing);
    outgoing
}

#[instrument(parent = parent)]
async fn handle_async(parent: SpanContext) -> Option<SpanContext> {
    instrument_runtime::current_span_context()
}

#[test]
fn incoming_traceparent_is_continued() {
    isolated("incoming_traceparent_is_continued", T, || {
        let (exporter, c) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .install()
            .unwrap();
        let mut incoming = HashMap::new();
        incoming.insert(
            "TraceParent".to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        );
        let remote = propagation::extract(&incoming);
        assert!(remote.is_some());
        let outgoing = handle_request(remote);

        let mut bad = HashMap::new();
        bad.insert(
            "traceparent".to_owned(),
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".to_owned(),
        );
        let rejected = propagation::extract(&bad);
        assert!(rejected.is_none(), "uppercase hex is invalid");
        handle_request(rejected);

        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let parent = SpanContext {
            trace_id: instrument_runtime::TraceId::from_u128(7),
            span_id: instrument_runtime::SpanId::from_u64(9),
            trace_flags: 1,
        };
        let inner = rt.block_on(handle_async(parent)).unwrap();
        assert_eq!(inner.trace_id, parent.trace_id);

        assert!(telemetry.flush(T).completed);
        let spans = c.spans_named("handle_request");
        assert_eq!(spans.len(), 2);
        let continued = spans
            .iter()
            .find(|s| s.trace_id.to_string() == "4bf92f3577b34da6a3ce929d0e0e4736")
            .expect("the incoming trace is continued");
        assert_eq!(
            continued.parent_span_id.unwrap().to_string(),
            "00f067aa0ba902b7"
        );
        let fresh = spans
            .iter()
            .find(|s| s.span_id != continued.span_id)
            .unwrap();
        assert_eq!(
            fresh.parent_span_id, None,
            "an invalid header starts a new trace"
        );
        assert_ne!(fresh.trace_id, continued.trace_id);
        assert_eq!(
            outgoing["traceparent"],
            format!(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01",
                continued.span_id
            )
        );
        let a = &c.spans_named("handle_async")[0];
        assert_eq!(a.parent_span_id.unwrap().to_u64(), 9);
    });
}
