//! Issue 4: CPU cost of the OTLP exporter per exported span, on the exporting thread (what
//! the exporter thread spends: conversion to OpenTelemetry types, protobuf encoding, the HTTP
//! client, on its private runtime). Batches of 512 spans are exported over HTTP/protobuf to a
//! minimal local sink (a std thread on 127.0.0.1 answering `200 OK` with an empty
//! `ExportTraceServiceResponse`), so the collector's own cost is not measured.
//!
//! Reported per span: the thread CPU time of `Exporter::export` divided by the batch size.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use instrument_benches::procfs::current_thread_cpu_ns;
use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
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

fn otlp_export(c: &mut Criterion) {
    let endpoint = sink();
    let mut exporter = OtlpExporter::builder()
        .endpoint(endpoint)
        .protocol(Protocol::HttpProtobuf)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an OTLP exporter");
    let batch = batch();
    exporter.export(&batch).expect("warm-up export");
    let mut group = c.benchmark_group("otlp_export");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("http_protobuf_512_spans_thread_cpu", |b| {
        b.iter_custom(|iters| {
            let start = current_thread_cpu_ns();
            for _ in 0..iters {
                exporter.export(&batch).expect("export to the local sink");
            }
            Duration::from_nanos(current_thread_cpu_ns() - start)
        });
    });
    group.finish();
    let _ = exporter.shutdown();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = otlp_export
}
criterion_main!(benches);
