//! CPU cost of the OTLP exporter per exported span, on the exporting thread, ours beside the
//! OpenTelemetry SDK's OTLP span exporter fed the same spans. Batches of 512 spans are
//! exported over HTTP/protobuf to a minimal local sink (std threads on 127.0.0.1 answering
//! `200 OK` with an empty body), so the collector's own cost is not measured.
//!
//! - `ours_*`: `OtlpExporter::export` of our `Batch` (encoding straight into the
//!   `opentelemetry-proto` messages, hyper HTTP/1.1 on the private runtime): plain, without
//!   the `code.*` attributes, and gzip.
//! - `sdk_*`: `opentelemetry_otlp::SpanExporter::export` of the same spans as SDK `SpanData`
//!   (its default blocking reqwest client, driven by `futures_executor::block_on` as the
//!   SDK's batch processor does); the `Vec<SpanData>` it consumes is cloned outside the
//!   measured time, as the batch processor hands it over without a copy.
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
use instrument_runtime::export::{Batch, KeyValue, Resource, SpanData, SpanStatus};
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
            attributes: vec![KeyValue::new("method", "get")],
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
            attributes: vec![
                opentelemetry::KeyValue::new("method", "get"),
                opentelemetry::KeyValue::new("code.file.path", s.file),
                opentelemetry::KeyValue::new("code.line.number", i64::from(s.line)),
            ],
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
    let batch = batch();
    for exporter in [&mut plain, &mut no_code, &mut gzip] {
        exporter.export(&batch).expect("warm-up export");
    }

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
    group.bench_function("sdk_http_protobuf_512_spans_thread_cpu", |b| {
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
    group.finish();
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
