//! The OTLP exporter's request bodies, decoded from the outside with `opentelemetry-proto`'s
//! generated types: a capturing HTTP/protobuf sink on 127.0.0.1 keeps every body. With a small
//! byte limit, a batch of spans and one of log records are cut into requests that each stay
//! under the limit, and together carry every record exactly once, in order, with its fields
//! (logs grouped under their target's scope).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
use instrument_runtime::export::{KeyValue, LogData, Resource, SpanData, SpanStatus};
use instrument_runtime::{Batch, Exporter, Level, SpanId, SpanKind, TraceId};
use instrument_tests::within;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
use prost::Message;

type Bodies = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An HTTP/1.1 sink answering `200` to every POST, keeping `(path, body)`.
fn capturing_sink() -> (String, Bodies) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let bodies: Bodies = Arc::default();
    let kept = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let kept = Arc::clone(&kept);
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().expect("clone");
                let mut reader = BufReader::new(stream);
                loop {
                    let (mut path, mut length, mut line) = (String::new(), 0usize, String::new());
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if path.is_empty() {
                            path = l.split(' ').nth(1).unwrap_or("").to_owned();
                        }
                        if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    kept.lock().unwrap().push((path, body));
                    let reply = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                    if writer.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), bodies)
}

const LIMIT: usize = 4096;

fn span(i: u64) -> SpanData {
    SpanData {
        trace_id: TraceId::from_u128(0xabc0_0000 + u128::from(i)),
        span_id: SpanId::from_u64(i + 1),
        parent_span_id: (i % 2 == 1).then(|| SpanId::from_u64(i)),
        trace_flags: 1,
        name: "handle",
        file: "src/api.rs",
        line: 42,
        start_unix_nanos: 1_700_000_000_000_000_000 + i,
        end_unix_nanos: 1_700_000_000_000_000_700 + i,
        status: if i.is_multiple_of(3) {
            SpanStatus::Error {
                message: format!("failure {i}").into(),
            }
        } else {
            SpanStatus::Unset
        },
        kind: SpanKind::Server,
        attributes: vec![
            KeyValue::new("method", "get"),
            KeyValue::new("seq", i as i64),
            // Sizes vary, so cuts fall at different places.
            KeyValue::new("pad", "é".repeat((i % 50) as usize * 4)),
        ],
        ..SpanData::default()
    }
}

fn log(i: u64) -> LogData {
    LogData {
        timestamp_unix_nanos: 1_700_000_000_000_000_000 + i,
        level: Level::Warn,
        target: ["app", "app::db", "üñí"][(i % 3) as usize].into(),
        body: format!("record {i} {}", "x".repeat((i % 70) as usize)),
        trace_id: Some(TraceId::from_u128(0xdef0 + u128::from(i))),
        span_id: Some(SpanId::from_u64(i + 1)),
        trace_flags: 1,
        module_path: None,
        file: Some("src/db.rs".into()),
        line: Some(7),
        attributes: vec![KeyValue::new("seq", i as i64)],
    }
}

fn int(v: &Option<AnyValue>) -> i64 {
    match v.as_ref().and_then(|a| a.value.as_ref()) {
        Some(any_value::Value::IntValue(i)) => *i,
        other => panic!("not an int: {other:?}"),
    }
}

#[test]
fn requests_stay_under_the_limit_and_carry_every_record_once_with_its_fields() {
    let (endpoint, bodies) = capturing_sink();
    let resource = Some(Arc::new(Resource {
        service_name: "encoding-test".into(),
        attributes: vec![],
    }));
    let batch = Batch {
        spans: (0..300).map(span).collect(),
        logs: (0..300).map(log).collect(),
        resource,
        ..Batch::default()
    };
    within(Duration::from_secs(60), move || {
        let mut exporter = OtlpExporter::builder()
            .endpoint(endpoint)
            .protocol(Protocol::HttpProtobuf)
            .max_request_bytes(LIMIT)
            .build()
            .unwrap();
        exporter.export(&batch).expect("every request accepted");
        exporter.shutdown().unwrap();
    });
    let bodies = bodies.lock().unwrap().clone();
    let traces: Vec<_> = bodies.iter().filter(|(p, _)| p == "/v1/traces").collect();
    let logs: Vec<_> = bodies.iter().filter(|(p, _)| p == "/v1/logs").collect();
    assert!(traces.len() > 5, "{} trace requests", traces.len());
    assert!(logs.len() > 3, "{} log requests", logs.len());
    assert!(bodies.iter().all(|(_, b)| b.len() <= LIMIT));

    let mut seen = Vec::new();
    for (_, body) in &traces {
        let request = ExportTraceServiceRequest::decode(&body[..]).expect("a trace request");
        assert_eq!(request.resource_spans.len(), 1);
        let rs = &request.resource_spans[0];
        let resource = rs.resource.as_ref().expect("resource");
        assert!(resource.attributes.iter().any(|kv| kv.key == "service.name"
            && kv.value.as_ref().and_then(|v| v.value.clone())
                == Some(any_value::Value::StringValue("encoding-test".into()))));
        assert_eq!(rs.scope_spans.len(), 1);
        let scope = rs.scope_spans[0].scope.as_ref().expect("scope");
        assert_eq!(scope.name, "instrument-runtime");
        for s in &rs.scope_spans[0].spans {
            let i = int(&s.attributes[1].value) as u64;
            let expected = span(i);
            assert_eq!(s.trace_id, expected.trace_id.to_bytes());
            assert_eq!(s.span_id, expected.span_id.to_bytes());
            let parent = expected.parent_span_id.map(|p| p.to_bytes().to_vec());
            assert_eq!(s.parent_span_id, parent.unwrap_or_default());
            assert_eq!((s.name.as_str(), s.kind, s.flags), ("handle", 2, 0x101));
            assert_eq!(s.start_time_unix_nano, expected.start_unix_nanos);
            assert_eq!(s.end_time_unix_nano, expected.end_unix_nanos);
            let keys: Vec<_> = s.attributes.iter().map(|kv| kv.key.as_str()).collect();
            assert_eq!(
                keys,
                ["method", "seq", "pad", "code.file.path", "code.line.number"]
            );
            assert_eq!(int(&s.attributes[4].value), 42);
            match &expected.status {
                SpanStatus::Error { message } => {
                    let status = s.status.as_ref().expect("status");
                    assert_eq!((status.code, status.message.as_str()), (2, &**message));
                }
                _ => assert_eq!(s.status, None),
            }
            seen.push(i);
        }
    }
    assert_eq!(
        seen,
        (0..300).collect::<Vec<_>>(),
        "every span once, in order"
    );

    let mut by_target: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, body) in &logs {
        let request = ExportLogsServiceRequest::decode(&body[..]).expect("a log request");
        assert_eq!(request.resource_logs.len(), 1);
        for scope_logs in &request.resource_logs[0].scope_logs {
            let target = scope_logs.scope.as_ref().expect("scope").name.clone();
            for r in &scope_logs.log_records {
                let i = int(&r.attributes[0].value) as u64;
                let expected = log(i);
                assert_eq!(target, expected.target);
                assert_eq!(
                    r.body.as_ref().and_then(|b| b.value.clone()),
                    Some(any_value::Value::StringValue(expected.body))
                );
                assert_eq!((r.severity_number, r.severity_text.as_str()), (13, "WARN"));
                assert_eq!(r.time_unix_nano, expected.timestamp_unix_nanos);
                assert_eq!(r.observed_time_unix_nano, expected.timestamp_unix_nanos);
                assert_eq!(r.trace_id, expected.trace_id.unwrap().to_bytes());
                assert_eq!(r.span_id, expected.span_id.unwrap().to_bytes());
                assert_eq!(r.flags, 1);
                assert_eq!(r.attributes.len(), 3);
                by_target.entry(target.clone()).or_default().push(i);
            }
        }
    }
    for (t, target) in ["app", "app::db", "üñí"].into_iter().enumerate() {
        let expected: Vec<u64> = (0..300).filter(|i| i % 3 == t as u64).collect();
        assert_eq!(
            by_target[target], expected,
            "{target}: every record once, in order"
        );
    }
}

#[derive(instrument_runtime::Label, Clone, Copy, Debug)]
enum Route {
    Checkout,
    Search,
}

#[derive(instrument_runtime::Label, Debug)]
enum CallError {
    Refused,
}

#[instrument_runtime::instrument(labels(route), error_label)]
fn labelled_call(route: Route, fail: bool) -> Result<(), CallError> {
    if fail {
        return Err(CallError::Refused);
    }
    Ok(())
}

/// A labelled `#[instrument]` function through the whole pipeline: its spans carry the labels
/// as string attributes (the encoder reads them from the call's static label table, not from
/// the span's stored attributes), the error label only on the failing call.
#[test]
fn labels_of_instrumented_calls_arrive_as_span_attributes() {
    instrument_tests::isolated(
        "labels_of_instrumented_calls_arrive_as_span_attributes",
        Duration::from_secs(60),
        || {
            let (endpoint, bodies) = capturing_sink();
            let exporter = OtlpExporter::builder()
                .endpoint(endpoint)
                .protocol(Protocol::HttpProtobuf)
                .build()
                .unwrap();
            let telemetry = instrument_runtime::builder()
                .exporter(exporter)
                .install()
                .unwrap();
            labelled_call(Route::Checkout, false).unwrap();
            labelled_call(Route::Search, true).unwrap_err();
            let report = within(Duration::from_secs(30), move || {
                telemetry.shutdown_with_timeout(Duration::from_secs(20))
            });
            assert!(report.completed);
            let mut attrs: Vec<Vec<(String, String)>> = Vec::new();
            for (path, body) in bodies.lock().unwrap().iter() {
                if path != "/v1/traces" {
                    continue;
                }
                let request = ExportTraceServiceRequest::decode(&body[..]).expect("decodes");
                for rs in &request.resource_spans {
                    for s in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
                        assert_eq!(s.name, "labelled_call");
                        attrs.push(
                            s.attributes
                                .iter()
                                .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
                                    any_value::Value::StringValue(v) => {
                                        Some((kv.key.clone(), v.clone()))
                                    }
                                    _ => None,
                                })
                                .filter(|(k, _)| k != "code.file.path")
                                .collect(),
                        );
                    }
                }
            }
            let pairs = |v: &[(&str, &str)]| {
                v.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                attrs,
                [
                    pairs(&[("route", "checkout")]),
                    pairs(&[("route", "search"), ("error", "refused")]),
                ]
            );
        },
    );
}
