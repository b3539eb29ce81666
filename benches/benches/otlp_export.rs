//! CPU cost of the OTLP exporter per exported span, on the exporting thread, ours beside the
//! OpenTelemetry SDK's OTLP span exporter fed the same spans. Batches of 512 spans are
//! exported over HTTP/protobuf to a minimal local sink (std threads on 127.0.0.1 answering
//! `200 OK` with an empty body), so the collector's own cost is not measured.
//!
//! - `ours_*`: `OtlpExporter::export` of our `Batch` (hyper HTTP/1.1 on the private
//!   runtime): plain, without the `code.*` attributes, gzip, spans carrying two labels and a
//!   field (`labels`), and log records (`logs`).
//! - `sdk_*`: `opentelemetry_otlp::SpanExporter::export` of the same spans as SDK `SpanData`
//!   (its default blocking reqwest client, driven by `futures_executor::block_on` as the
//!   SDK's batch processor does); the `Vec<SpanData>` it consumes is cloned outside the
//!   measured time, as the batch processor hands it over without a copy. For logs,
//!   `opentelemetry_otlp::LogExporter::export` of the same records as `SdkLogRecord`s.
//!
//! Reported per span: the CPU time of one export divided by the batch size, counting the
//! calling thread plus the HTTP client's own threads (reqwest's blocking client does its I/O on
//! an internal runtime thread, `reqwest-internal-sync-runtime`; ours runs on the calling
//! thread), so neither side hides work on another thread.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use instrument_benches::procfs::{current_thread_cpu_ns, thread_cpu_ns, threads_named};
use instrument_runtime::export::otlp::{Compression, OtlpExporter, Protocol};
use instrument_runtime::export::{Batch, KeyValue, LogData, Resource, SpanData, SpanStatus};
use instrument_runtime::{Exporter, Level, SpanId, TraceId};

const BATCH: usize = 512;

/// Answers every HTTP request with an empty 200, keeping connections alive.
fn sink() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
    let addr = listener.local_addr().expect("sink address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    format!("http://{addr}")
}

fn serve(stream: std::net::TcpStream) {
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let reply =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn batch() -> Batch {
    batch_with(|| vec![KeyValue::new("method", "get")])
}

/// Two labels (as the exporter thread decodes them: strings) and an integer field.
fn labels() -> Vec<KeyValue> {
    vec![
        KeyValue::new("method", "get"),
        KeyValue::new("region", "eu"),
        KeyValue::new("items", 3i64),
    ]
}

fn batch_with(attributes: fn() -> Vec<KeyValue>) -> Batch {
    let spans = (0..BATCH as u64)
        .map(|i| SpanData {
            trace_id: TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736 + u128::from(i)),
            span_id: SpanId::from_u64(i + 1),
            parent_span_id: Some(SpanId::from_u64(0xabc)),
            trace_flags: 1,
            name: "handle",
            target: "app::api",
            module_path: "app::api",
            file: "src/api.rs",
            line: 42,
            level: Level::Info,
            start_unix_nanos: 1_700_000_000_000_000_000 + i * 1000,
            end_unix_nanos: 1_700_000_000_000_000_000 + i * 1000 + 700,
            status: SpanStatus::Unset,
            attributes: attributes(),
            ..Default::default()
        })
        .collect();
    Batch {
        spans,
        resource: Some(Arc::new(Resource {
            service_name: "bench".into(),
            attributes: vec![KeyValue::new(Cow::Borrowed("deployment"), "bench")],
        })),
        ..Batch::default()
    }
}

/// 512 log records made inside spans, from the `log` bridge: target, body, trace context,
/// one attribute and the code location.
fn log_batch() -> Batch {
    let logs = (0..BATCH as u64)
        .map(|i| LogData {
            timestamp_unix_nanos: 1_700_000_000_000_000_000 + i * 1000,
            level: Level::Info,
            target: Cow::Borrowed("app::api"),
            body: format!("order {} placed", 1000 + i),
            trace_id: Some(TraceId::from_u128(
                0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736 + u128::from(i),
            )),
            span_id: Some(SpanId::from_u64(i + 1)),
            trace_flags: 1,
            module_path: Some(Cow::Borrowed("app::api")),
            file: Some(Cow::Borrowed("src/api.rs")),
            line: Some(57),
            attributes: vec![KeyValue::new("order_id", 1000 + i as i64)],
        })
        .collect();
    Batch {
        logs,
        resource: batch().resource,
        ..Batch::default()
    }
}

/// The same log records as the SDK's `SdkLogRecord`s, with their scope (the target).
fn sdk_logs(
    batch: &Batch,
) -> (
    Vec<opentelemetry_sdk::logs::SdkLogRecord>,
    opentelemetry::InstrumentationScope,
) {
    use opentelemetry::logs::{
        AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity,
    };
    let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder().build();
    let logger = provider.logger("app::api");
    let at = |nanos: u64| std::time::UNIX_EPOCH + Duration::from_nanos(nanos);
    let records = batch
        .logs
        .iter()
        .map(|l| {
            let mut r = logger.create_log_record();
            r.set_timestamp(at(l.timestamp_unix_nanos));
            r.set_observed_timestamp(at(l.timestamp_unix_nanos));
            r.set_severity_number(Severity::Info);
            r.set_severity_text("INFO");
            r.set_body(AnyValue::String(l.body.clone().into()));
            r.set_target(l.target.clone());
            r.set_trace_context(
                opentelemetry::TraceId::from_bytes(l.trace_id.expect("trace").to_bytes()),
                opentelemetry::SpanId::from_bytes(l.span_id.expect("span").to_bytes()),
                Some(opentelemetry::trace::TraceFlags::SAMPLED),
            );
            if let instrument_runtime::export::Value::I64(id) = l.attributes[0].value {
                r.add_attribute("order_id", id);
            }
            r.add_attribute("code.file.path", "src/api.rs");
            r.add_attribute("code.line.number", 57i64);
            r
        })
        .collect();
    let scope = opentelemetry::InstrumentationScope::builder("app::api")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    (records, scope)
}

/// The same spans as the SDK's `SpanData` (what its batch processor hands its exporter).
fn sdk_spans(batch: &Batch) -> Vec<opentelemetry_sdk::trace::SpanData> {
    use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceFlags, TraceState};
    let scope = opentelemetry::InstrumentationScope::builder("instrument-runtime").build();
    let at = |nanos: u64| std::time::UNIX_EPOCH + Duration::from_nanos(nanos);
    batch
        .spans
        .iter()
        .map(|s| opentelemetry_sdk::trace::SpanData {
            span_context: SpanContext::new(
                opentelemetry::TraceId::from_bytes(s.trace_id.to_bytes()),
                opentelemetry::SpanId::from_bytes(s.span_id.to_bytes()),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: opentelemetry::SpanId::from_bytes(
                s.parent_span_id.map_or([0; 8], |p| p.to_bytes()),
            ),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed(s.name),
            start_time: at(s.start_unix_nanos),
            end_time: at(s.end_unix_nanos),
            attributes: s
                .attributes
                .iter()
                .map(|kv| {
                    let value = match &kv.value {
                        instrument_runtime::export::Value::Str(v) => {
                            opentelemetry::Value::from(v.clone())
                        }
                        instrument_runtime::export::Value::I64(v) => opentelemetry::Value::I64(*v),
                        instrument_runtime::export::Value::F64(v) => opentelemetry::Value::F64(*v),
                        instrument_runtime::export::Value::Bool(v) => {
                            opentelemetry::Value::Bool(*v)
                        }
                    };
                    opentelemetry::KeyValue::new(kv.key.clone(), value)
                })
                .chain([
                    opentelemetry::KeyValue::new("code.file.path", s.file),
                    opentelemetry::KeyValue::new("code.line.number", i64::from(s.line)),
                ])
                .collect(),
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: scope.clone(),
        })
        .collect()
}

/// CPU of this thread and of every HTTP client thread (see the module docs).
fn exporter_cpu_ns() -> u64 {
    let helpers: u64 = threads_named("reqwest-")
        .into_iter()
        .chain(threads_named("instrument-expo"))
        .filter_map(thread_cpu_ns)
        .sum();
    current_thread_cpu_ns() + helpers
}

fn per_span(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut export: impl FnMut(),
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = exporter_cpu_ns();
            for _ in 0..iters {
                export();
            }
            Duration::from_nanos(exporter_cpu_ns() - start)
        });
    });
}

fn otlp_export(c: &mut Criterion) {
    let endpoint = sink();
    let ours = |compression, code| {
        OtlpExporter::builder()
            .endpoint(endpoint.clone())
            .protocol(Protocol::HttpProtobuf)
            .compression(compression)
            .code_attributes(code)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an OTLP exporter")
    };
    let mut plain = ours(Compression::None, true);
    let mut no_code = ours(Compression::None, false);
    let mut gzip = ours(Compression::Gzip, true);
    let mut with_labels = ours(Compression::None, true);
    let mut logs = ours(Compression::None, true);
    let batch = batch();
    let labels_batch = batch_with(labels);
    let log_batch = log_batch();
    for exporter in [&mut plain, &mut no_code, &mut gzip] {
        exporter.export(&batch).expect("warm-up export");
    }
    with_labels.export(&labels_batch).expect("warm-up export");
    logs.export(&log_batch).expect("warm-up export");

    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::trace::SpanExporter as _;
    let mut sdk = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()
        .expect("the SDK's OTLP exporter");
    sdk.set_resource(
        &opentelemetry_sdk::Resource::builder_empty()
            .with_service_name("bench")
            .with_attribute(opentelemetry::KeyValue::new("deployment", "bench"))
            .build(),
    );
    let spans = sdk_spans(&batch);
    futures_executor::block_on(sdk.export(spans.clone())).expect("warm-up SDK export");
    let labels_spans = sdk_spans(&labels_batch);

    use opentelemetry_sdk::logs::LogExporter as _;
    let mut sdk_log_exporter = opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(format!("{endpoint}/v1/logs"))
        .build()
        .expect("the SDK's OTLP log exporter");
    sdk_log_exporter.set_resource(
        &opentelemetry_sdk::Resource::builder_empty()
            .with_service_name("bench")
            .with_attribute(opentelemetry::KeyValue::new("deployment", "bench"))
            .build(),
    );
    let (sdk_records, sdk_scope) = sdk_logs(&log_batch);
    let sdk_log_refs: Vec<_> = sdk_records.iter().map(|r| (r, &sdk_scope)).collect();
    let sdk_log_batch = || opentelemetry_sdk::logs::LogBatch::new(&sdk_log_refs);
    futures_executor::block_on(sdk_log_exporter.export(sdk_log_batch()))
        .expect("warm-up SDK log export");

    let mut group = c.benchmark_group("otlp_export");
    group.throughput(Throughput::Elements(BATCH as u64));
    per_span(
        &mut group,
        "ours_http_protobuf_512_spans_thread_cpu",
        || {
            plain.export(&batch).expect("export to the local sink");
        },
    );
    per_span(
        &mut group,
        "ours_http_protobuf_no_code_attrs_512_spans_thread_cpu",
        || {
            no_code.export(&batch).expect("export to the local sink");
        },
    );
    per_span(
        &mut group,
        "ours_http_protobuf_gzip_512_spans_thread_cpu",
        || {
            gzip.export(&batch).expect("export to the local sink");
        },
    );
    per_span(
        &mut group,
        "ours_http_protobuf_labels_512_spans_thread_cpu",
        || {
            with_labels
                .export(&labels_batch)
                .expect("export to the local sink");
        },
    );
    per_span(&mut group, "ours_http_protobuf_512_logs_thread_cpu", || {
        logs.export(&log_batch).expect("export to the local sink");
    });
    for (name, spans) in [
        ("sdk_http_protobuf_512_spans_thread_cpu", &spans),
        (
            "sdk_http_protobuf_labels_512_spans_thread_cpu",
            &labels_spans,
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut cpu = 0;
                for _ in 0..iters {
                    let owned = spans.clone();
                    let start = exporter_cpu_ns();
                    futures_executor::block_on(sdk.export(owned)).expect("SDK export");
                    cpu += exporter_cpu_ns() - start;
                }
                Duration::from_nanos(cpu)
            });
        });
    }
    // The SDK's log exporter borrows the records (its batch processor keeps them): nothing
    // to copy per export.
    per_span(&mut group, "sdk_http_protobuf_512_logs_thread_cpu", || {
        futures_executor::block_on(sdk_log_exporter.export(sdk_log_batch()))
            .expect("SDK log export");
    });
    group.finish();
    let _ = with_labels.shutdown();
    let _ = logs.shutdown();
    let _ = sdk_log_exporter.shutdown();
    let _ = plain.shutdown();
    let _ = no_code.shutdown();
    let _ = gzip.shutdown();
    let _ = sdk.shutdown();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = otlp_export
}
criterion_main!(benches);
