//! Our records as `opentelemetry_sdk` values: spans, log records and the resource.
//!
//! Everything here is a plain function from our data to the SDK's, with no I/O, so it is
//! tested directly. Metrics are converted elsewhere ([`super::metrics`]): the SDK's metric
//! types cannot be built outside the SDK.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceFlags, TraceState};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger};
use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

use crate::export::{KeyValue, LogData, Resource, SpanData, SpanStatus, Value};
use crate::{Level, SpanId, TraceId};

/// The instrumentation scope of everything this crate produces: its name and version.
pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Nanoseconds since the Unix epoch as a `SystemTime`.
pub(crate) fn system_time(unix_nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nanos)
}

pub(crate) fn trace_id(id: TraceId) -> opentelemetry::TraceId {
    opentelemetry::TraceId::from_bytes(id.to_bytes())
}

pub(crate) fn span_id(id: SpanId) -> opentelemetry::SpanId {
    opentelemetry::SpanId::from_bytes(id.to_bytes())
}

/// An attribute value. Strings are moved as `Cow`s, so static strings are not copied.
pub(crate) fn value(value: &Value) -> opentelemetry::Value {
    match value {
        Value::Bool(b) => opentelemetry::Value::Bool(*b),
        Value::I64(v) => opentelemetry::Value::I64(*v),
        Value::F64(v) => opentelemetry::Value::F64(*v),
        Value::Str(s) => opentelemetry::Value::String(s.clone().into()),
    }
}

pub(crate) fn key_value(kv: &KeyValue) -> opentelemetry::KeyValue {
    opentelemetry::KeyValue::new(kv.key.clone(), value(&kv.value))
}

/// Where the code is, with the semantic-convention names `code.file.path` and
/// `code.line.number`.
fn code_location(file: Cow<'static, str>, line: u32) -> [opentelemetry::KeyValue; 2] {
    [
        opentelemetry::KeyValue::new("code.file.path", file),
        opentelemetry::KeyValue::new("code.line.number", i64::from(line)),
    ]
}

fn status(status: &SpanStatus) -> Status {
    match status {
        SpanStatus::Unset => Status::Unset,
        SpanStatus::Ok => Status::Ok,
        SpanStatus::Error { message } => Status::error(message.clone()),
    }
}

/// A finished span as the SDK's `SpanData`. Ids, flags, times, status, attributes, kind,
/// events and links (with their dropped counts) are carried over; the parent is local.
pub(crate) fn span_data(
    span: &SpanData,
    scope: &InstrumentationScope,
) -> opentelemetry_sdk::trace::SpanData {
    let context = SpanContext::new(
        trace_id(span.trace_id),
        span_id(span.span_id),
        TraceFlags::new(span.trace_flags),
        false,
        TraceState::default(),
    );
    let mut attributes: Vec<_> = span.all_attributes().map(|kv| key_value(&kv)).collect();
    attributes.extend(code_location(Cow::Borrowed(span.file), span.line));
    opentelemetry_sdk::trace::SpanData {
        span_context: context,
        parent_span_id: span
            .parent_span_id
            .map_or(opentelemetry::SpanId::INVALID, span_id),
        parent_span_is_remote: false,
        span_kind: span_kind(span.kind),
        name: Cow::Borrowed(span.name),
        start_time: system_time(span.start_unix_nanos),
        end_time: system_time(span.end_unix_nanos),
        attributes,
        dropped_attributes_count: span.dropped.attributes,
        events: span_events(span),
        links: span_links(span),
        status: status(&span.status),
        instrumentation_scope: scope.clone(),
    }
}

fn span_kind(kind: crate::SpanKind) -> SpanKind {
    match kind {
        crate::SpanKind::Internal => SpanKind::Internal,
        crate::SpanKind::Server => SpanKind::Server,
        crate::SpanKind::Client => SpanKind::Client,
        crate::SpanKind::Producer => SpanKind::Producer,
        crate::SpanKind::Consumer => SpanKind::Consumer,
    }
}

fn span_events(span: &SpanData) -> SpanEvents {
    let mut events = SpanEvents::default();
    events.events = span
        .events
        .iter()
        .map(|e| {
            opentelemetry::trace::Event::new(
                e.name.clone(),
                system_time(e.timestamp_unix_nanos),
                e.attributes.iter().map(key_value).collect(),
                e.dropped_attributes_count,
            )
        })
        .collect();
    events.dropped_count = span.dropped.events;
    events
}

fn span_links(span: &SpanData) -> SpanLinks {
    let mut links = SpanLinks::default();
    links.links = span
        .links
        .iter()
        .map(|l| {
            let context = SpanContext::new(
                trace_id(l.trace_id),
                span_id(l.span_id),
                TraceFlags::new(l.trace_flags),
                false,
                TraceState::default(),
            );
            opentelemetry::trace::Link::new(context, Vec::new(), 0)
        })
        .collect();
    links.dropped_count = span.dropped.links;
    links
}

fn severity(level: Level) -> Severity {
    match level {
        Level::Trace => Severity::Trace,
        Level::Debug => Severity::Debug,
        Level::Info => Severity::Info,
        Level::Warn => Severity::Warn,
        Level::Error => Severity::Error,
    }
}

/// A log record as the SDK's `SdkLogRecord`.
///
/// `SdkLogRecord` has no public constructor; `Logger::create_log_record` is the SDK's public
/// way to get one, so `logger` is a logger of a provider without processors, used only as a
/// record factory. Both `time_unix_nano` and `observed_time_unix_nano` are set (the SDK fills
/// only the latter, see `RECEIVERS.md`): the record was observed when it was made. The log
/// target becomes the record's target, which OTLP exports as the scope name, as the `log`
/// appenders of OpenTelemetry do.
pub(crate) fn log_record(log: &LogData, logger: &SdkLogger) -> SdkLogRecord {
    let mut record = logger.create_log_record();
    let at = system_time(log.timestamp_unix_nanos);
    record.set_timestamp(at);
    record.set_observed_timestamp(at);
    record.set_severity_number(severity(log.level));
    record.set_severity_text(log.level.as_upper_str());
    record.set_body(AnyValue::String(log.body.clone().into()));
    record.set_target(log.target.clone());
    if let (Some(trace), Some(span)) = (log.trace_id, log.span_id) {
        let flags = TraceFlags::new(log.trace_flags);
        record.set_trace_context(trace_id(trace), span_id(span), Some(flags));
    }
    for kv in &log.attributes {
        record.add_attribute(kv.key.clone(), any_value(&kv.value));
    }
    if let (Some(file), Some(line)) = (&log.file, log.line) {
        for kv in code_location(file.clone(), line) {
            record.add_attribute(kv.key, any_value_of(kv.value));
        }
    }
    record
}

fn any_value(v: &Value) -> AnyValue {
    match v {
        Value::Bool(b) => AnyValue::Boolean(*b),
        Value::I64(i) => AnyValue::Int(*i),
        Value::F64(f) => AnyValue::Double(*f),
        Value::Str(s) => AnyValue::String(s.clone().into()),
    }
}

fn any_value_of(v: opentelemetry::Value) -> AnyValue {
    match v {
        opentelemetry::Value::Bool(b) => AnyValue::Boolean(b),
        opentelemetry::Value::I64(i) => AnyValue::Int(i),
        opentelemetry::Value::F64(f) => AnyValue::Double(f),
        other => AnyValue::String(other.as_str().into_owned().into()),
    }
}

/// The SDK resource for our resource: `service.name`, the other attributes, and the
/// `telemetry.sdk.*` attributes the resource semantic conventions ask an SDK to add (the
/// resource's own values win). Without a resource, the SDK's defaults apply
/// (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service`).
pub(crate) fn resource(ours: Option<&Resource>) -> opentelemetry_sdk::Resource {
    let detected = crate::resource::detected_attributes();
    let builder = opentelemetry_sdk::Resource::builder_empty()
        .with_attributes(detected.iter().map(key_value));
    let Some(ours) = ours else {
        // No pipeline resource (an exporter used on its own): the SDK's environment detectors
        // (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`) on top of ours.
        let env = opentelemetry_sdk::Resource::builder().build();
        return builder
            .with_attributes(
                env.iter()
                    .filter(|(k, _)| !k.as_str().starts_with("telemetry.sdk."))
                    .map(|(k, v)| opentelemetry::KeyValue::new(k.clone(), v.clone())),
            )
            .build();
    };
    builder
        .with_attributes(ours.attributes.iter().map(key_value))
        .with_service_name(ours.service_name.clone())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::logs::LoggerProvider as _;

    fn span() -> SpanData {
        SpanData {
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
            attributes: vec![KeyValue::new("items", 3i64)],
            ..Default::default()
        }
    }

    #[test]
    fn spans_keep_ids_times_status_and_attributes() {
        let sdk = span_data(&span(), &scope());
        assert_eq!(
            sdk.span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(sdk.span_context.span_id().to_string(), "00f067aa0ba902b7");
        assert_eq!(sdk.parent_span_id.to_string(), "000000000000000a");
        assert!(sdk.span_context.is_sampled());
        assert_eq!(
            sdk.end_time
                .duration_since(sdk.start_time)
                .unwrap()
                .as_nanos(),
            2_500
        );
        assert_eq!(sdk.status, Status::error("card declined"));
        assert_eq!(sdk.instrumentation_scope.name(), "instrument-runtime");
        let keys: Vec<_> = sdk.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["items", "code.file.path", "code.line.number"]);
    }

    #[test]
    fn root_spans_have_the_invalid_parent() {
        let mut root = span();
        root.parent_span_id = None;
        assert_eq!(
            span_data(&root, &scope()).parent_span_id,
            opentelemetry::SpanId::INVALID
        );
    }

    #[test]
    fn log_records_carry_both_times_and_the_trace_context() {
        let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder().build();
        let logger = provider.logger_with_scope(scope());
        let log = LogData {
            timestamp_unix_nanos: 5_000,
            level: Level::Warn,
            target: "shop".into(),
            body: "low stock".into(),
            trace_id: Some(TraceId::from_u128(7)),
            span_id: Some(SpanId::from_u64(9)),
            trace_flags: 1,
            module_path: None,
            file: Some("src/a.rs".into()),
            line: Some(3),
            attributes: vec![],
        };
        let record = log_record(&log, &logger);
        assert_eq!(record.timestamp(), Some(system_time(5_000)));
        assert_eq!(record.observed_timestamp(), Some(system_time(5_000)));
        assert_eq!(record.severity_number(), Some(Severity::Warn));
        let context = record.trace_context().unwrap();
        assert_eq!(context.span_id, opentelemetry::SpanId::from(9u64));
        assert_eq!(record.attributes_iter().count(), 2);
    }

    #[test]
    fn resource_has_service_name_and_sdk_attributes() {
        let ours = Resource {
            service_name: "shop".into(),
            attributes: vec![KeyValue::new("telemetry.sdk.language", "overridden")],
        };
        let sdk = resource(Some(&ours));
        let get = |k: &'static str| sdk.get(&opentelemetry::Key::from_static_str(k));
        assert_eq!(get("service.name"), Some("shop".into()));
        assert_eq!(get("telemetry.sdk.language"), Some("overridden".into()));
        assert_eq!(get("telemetry.sdk.name"), Some("instrument-runtime".into()));
    }
}
