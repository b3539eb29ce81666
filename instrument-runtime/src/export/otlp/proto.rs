//! Tests only: our spans and log records as the OTLP protobuf messages of
//! `opentelemetry-proto`, the converter [`OtlpExporter`] used before it encoded bytes
//! directly ([`super::encode`]). Kept as the reference the byte encoder is checked against:
//! its tests decode the encoder's bytes into these types and compare with what this builds.
//!
//! The same mapping as [`super::convert`] (which feeds SDK exporters through the bridge):
//! spans carry `code.file.path` and `code.line.number`; log records carry both timestamps,
//! severity, trace context and their `log` target as the scope name (as the OpenTelemetry
//! `log` appenders do).
//!
//! [`OtlpExporter`]: super::OtlpExporter

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};

use crate::export::{KeyValue as OurKeyValue, LogData, SpanData, SpanStatus, Value};
use crate::Level;

fn scope(name: &str) -> InstrumentationScope {
    InstrumentationScope {
        name: name.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..InstrumentationScope::default()
    }
}

fn any(value: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

fn value(v: &Value) -> Option<AnyValue> {
    any(match v {
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::I64(i) => any_value::Value::IntValue(*i),
        Value::F64(f) => any_value::Value::DoubleValue(*f),
        Value::Str(s) => any_value::Value::StringValue(s.to_string()),
    })
}

fn key_value(kv: &OurKeyValue) -> KeyValue {
    KeyValue {
        key: kv.key.to_string(),
        value: value(&kv.value),
        ..KeyValue::default()
    }
}

fn code_location(file: &str, line: u32) -> [KeyValue; 2] {
    [
        KeyValue {
            key: "code.file.path".to_owned(),
            value: any(any_value::Value::StringValue(file.to_owned())),
            ..KeyValue::default()
        },
        KeyValue {
            key: "code.line.number".to_owned(),
            value: any(any_value::Value::IntValue(i64::from(line))),
            ..KeyValue::default()
        },
    ]
}

fn span(s: &SpanData, code: bool) -> Span {
    let mut attributes = Vec::with_capacity(s.attribute_count() + 2);
    attributes.extend(s.all_attributes().map(|kv| key_value(&kv)));
    if code {
        attributes.extend(code_location(s.file, s.line));
    }
    let status = match &s.status {
        SpanStatus::Unset => None,
        SpanStatus::Ok => Some(Status {
            code: status::StatusCode::Ok as i32,
            message: String::new(),
        }),
        SpanStatus::Error { message } => Some(Status {
            code: status::StatusCode::Error as i32,
            message: message.to_string(),
        }),
    };
    Span {
        trace_id: s.trace_id.to_bytes().to_vec(),
        span_id: s.span_id.to_bytes().to_vec(),
        parent_span_id: s
            .parent_span_id
            .map_or_else(Vec::new, |p| p.to_bytes().to_vec()),
        // W3C flags in the low byte; bit 8 says "has_is_remote" (the parent is local).
        flags: u32::from(s.trace_flags) | 0x100,
        name: s.name.to_owned(),
        kind: span_kind(s.kind) as i32,
        start_time_unix_nano: s.start_unix_nanos,
        end_time_unix_nano: s.end_unix_nanos,
        attributes,
        dropped_attributes_count: s.dropped.attributes,
        events: s.events.iter().map(event).collect(),
        dropped_events_count: s.dropped.events,
        links: s.links.iter().map(link).collect(),
        dropped_links_count: s.dropped.links,
        status,
        ..Span::default()
    }
}

fn span_kind(kind: crate::SpanKind) -> span::SpanKind {
    match kind {
        crate::SpanKind::Internal => span::SpanKind::Internal,
        crate::SpanKind::Server => span::SpanKind::Server,
        crate::SpanKind::Client => span::SpanKind::Client,
        crate::SpanKind::Producer => span::SpanKind::Producer,
        crate::SpanKind::Consumer => span::SpanKind::Consumer,
    }
}

fn event(e: &crate::export::SpanEvent) -> span::Event {
    span::Event {
        time_unix_nano: e.timestamp_unix_nanos,
        name: e.name.to_string(),
        attributes: e.attributes.iter().map(key_value).collect(),
        dropped_attributes_count: e.dropped_attributes_count,
    }
}

fn link(l: &crate::export::SpanLink) -> span::Link {
    span::Link {
        trace_id: l.trace_id.to_bytes().to_vec(),
        span_id: l.span_id.to_bytes().to_vec(),
        // W3C flags in the low byte; bit 8 says "has_is_remote" (unknown for a link: unset).
        flags: u32::from(l.trace_flags),
        ..span::Link::default()
    }
}

/// One request with every span of the batch, under one resource and our scope; `code` adds
/// `code.file.path` and `code.line.number` to every span.
pub(crate) fn traces(
    spans: &[SpanData],
    resource: &ProtoResource,
    code: bool,
) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource.clone()),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope(env!("CARGO_PKG_NAME"))),
                spans: spans.iter().map(|s| span(s, code)).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn severity(level: Level) -> i32 {
    use opentelemetry_proto::tonic::logs::v1::SeverityNumber;
    (match level {
        Level::Trace => SeverityNumber::Trace,
        Level::Debug => SeverityNumber::Debug,
        Level::Info => SeverityNumber::Info,
        Level::Warn => SeverityNumber::Warn,
        Level::Error => SeverityNumber::Error,
    }) as i32
}

fn log_record(log: &LogData) -> LogRecord {
    let mut attributes: Vec<KeyValue> = log.attributes.iter().map(key_value).collect();
    if let (Some(file), Some(line)) = (&log.file, log.line) {
        attributes.extend(code_location(file, line));
    }
    let (trace_id, span_id, flags) = match (log.trace_id, log.span_id) {
        (Some(t), Some(s)) => (
            t.to_bytes().to_vec(),
            s.to_bytes().to_vec(),
            u32::from(log.trace_flags),
        ),
        _ => (Vec::new(), Vec::new(), 0),
    };
    LogRecord {
        time_unix_nano: log.timestamp_unix_nanos,
        observed_time_unix_nano: log.timestamp_unix_nanos,
        severity_number: severity(log.level),
        severity_text: log.level.as_upper_str().to_owned(),
        body: any(any_value::Value::StringValue(log.body.clone())),
        attributes,
        flags,
        trace_id,
        span_id,
        ..LogRecord::default()
    }
}

/// One request with every log record of the batch, one scope per `log` target (in order of
/// first appearance).
pub(crate) fn logs(logs: &[LogData], resource: &ProtoResource) -> ExportLogsServiceRequest {
    let mut scopes: Vec<ScopeLogs> = Vec::new();
    for log in logs {
        let record = log_record(log);
        match scopes
            .iter_mut()
            .find(|s| s.scope.as_ref().is_some_and(|sc| sc.name == log.target))
        {
            Some(scope_logs) => scope_logs.log_records.push(record),
            None => scopes.push(ScopeLogs {
                scope: Some(scope(&log.target)),
                log_records: vec![record],
                schema_url: String::new(),
            }),
        }
    }
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource.clone()),
            scope_logs: scopes,
            schema_url: String::new(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SpanId, TraceId};

    #[test]
    fn spans_keep_ids_flags_status_and_code_location() {
        let s = SpanData {
            trace_id: TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            span_id: SpanId::from_u64(0x00f0_67aa_0ba9_02b7),
            parent_span_id: Some(SpanId::from_u64(0xa)),
            trace_flags: 1,
            name: "load_cart",
            target: "shop::cart",
            module_path: "shop::cart",
            file: "src/cart.rs",
            line: 42,
            level: Level::Info,
            start_unix_nanos: 1_000,
            end_unix_nanos: 3_500,
            status: SpanStatus::Error {
                message: "card declined".into(),
            },
            attributes: vec![OurKeyValue::new("items", 3i64)],
            ..SpanData::default()
        };
        let request = traces(std::slice::from_ref(&s), &ProtoResource::default(), true);
        let bare = traces(&[s], &ProtoResource::default(), false);
        assert_eq!(
            bare.resource_spans[0].scope_spans[0].spans[0]
                .attributes
                .len(),
            1
        );
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            span.trace_id,
            0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736u128.to_be_bytes()
        );
        assert_eq!(span.parent_span_id, 0xau64.to_be_bytes());
        assert_eq!(span.flags, 0x101);
        assert_eq!(span.status.as_ref().unwrap().message, "card declined");
        let keys: Vec<_> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["items", "code.file.path", "code.line.number"]);
    }

    #[test]
    fn labels_follow_the_stored_attributes() {
        use crate::callsite::{Callsite, LabelDesc};
        static LABELS: [LabelDesc; 2] = [
            LabelDesc {
                key: "method",
                cardinality: 2,
                value_name: |i| ["get", "post"][i],
            },
            LabelDesc {
                key: "error",
                cardinality: 3,
                value_name: |i| ["none", "timeout", "refused"][i],
            },
        ];
        static CS: Callsite = Callsite::new("f", "t", "t", "f.rs", 1, Level::Info, &LABELS);
        let span = |index| SpanData {
            attributes: vec![OurKeyValue::new("items", 3i64)],
            labels: crate::data::SpanLabels::new(&CS, index),
            ..SpanData::default()
        };
        let keys_values = |s: &SpanData| {
            let request = traces(std::slice::from_ref(s), &ProtoResource::default(), false);
            let span = &request.resource_spans[0].scope_spans[0].spans[0];
            span.attributes
                .iter()
                .map(|kv| match &kv.value.as_ref().unwrap().value {
                    Some(any_value::Value::StringValue(v)) => format!("{}={v}", kv.key),
                    other => format!("{}={other:?}", kv.key),
                })
                .collect::<Vec<_>>()
        };
        // Index 1 + 2 * 2: method "post", error "refused"; index 0: "get", no error.
        assert_eq!(
            keys_values(&span(5)),
            ["items=Some(IntValue(3))", "method=post", "error=refused"]
        );
        assert_eq!(
            keys_values(&span(0)),
            ["items=Some(IntValue(3))", "method=get"]
        );
        assert_eq!(span(5).attribute_count(), 3);
        assert_eq!(span(0).labels.len(), 1);
    }

    #[test]
    fn logs_are_grouped_by_target() {
        let log = |target: &'static str| LogData {
            timestamp_unix_nanos: 5,
            level: Level::Warn,
            target: target.into(),
            body: "b".into(),
            trace_id: Some(TraceId::from_u128(7)),
            span_id: Some(SpanId::from_u64(9)),
            trace_flags: 1,
            module_path: None,
            file: None,
            line: None,
            attributes: vec![],
        };
        let request = logs(&[log("a"), log("b"), log("a")], &ProtoResource::default());
        let scopes = &request.resource_logs[0].scope_logs;
        assert_eq!(scopes.len(), 2);
        assert_eq!(scopes[0].log_records.len(), 2);
        assert_eq!(scopes[0].log_records[0].observed_time_unix_nano, 5);
        assert_eq!(scopes[0].log_records[0].span_id, 9u64.to_be_bytes());
    }
}
