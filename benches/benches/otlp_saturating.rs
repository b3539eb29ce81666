//! Saturating OTLP delivery: one application thread calls an instrumented function as fast as
//! it can for a few seconds while the exporter sends its spans over HTTP/protobuf to a
//! receiver in another process; how many of the calls' spans reach the receiver, ours beside
//! the OpenTelemetry SDK (its batch span processor with defaults, queue 2048 and batches of
//! 512, into its OTLP span exporter with the default blocking client).
//!
//! `otlp_saturating [--bench] <ours|sdk> [seconds]`, one configuration per process. The
//! receiver is this binary re-run as `otlp_saturating sink`: HTTP/1.1 on 127.0.0.1, counting
//! the spans of every `ExportTraceServiceRequest` body it is sent (walking the protobuf, no
//! decoding into messages), answering `200` with an empty response, and the count on
//! `GET /count`. Reported: calls, spans received, the delivered share, and the CPU time of the
//! exporting threads (ours: `instrument-*`; the SDK: its batch processor's thread and
//! reqwest's) per received span. Without `--bench` it runs 0.2 s, as a smoke test.

mod common;

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use instrument_benches::procfs;

#[instrument_runtime::instrument]
#[inline(never)]
fn ours(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

/// A varint at `buf[*at..]`.
fn varint(buf: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// The length-delimited fields numbered `tag` of one message.
fn fields(buf: &[u8], tag: u64) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let Some(key) = varint(buf, &mut at) else {
            break;
        };
        match key & 7 {
            0 => {
                let _ = varint(buf, &mut at);
            }
            1 => at += 8,
            5 => at += 4,
            2 => {
                let Some(n) = varint(buf, &mut at) else { break };
                let end = (at + n as usize).min(buf.len());
                if key >> 3 == tag {
                    out.push(&buf[at..end]);
                }
                at = end;
            }
            _ => break,
        }
    }
    out
}

/// Spans in an `ExportTraceServiceRequest`: resource_spans (1) / scope_spans (2) / spans (2).
fn spans_in(body: &[u8]) -> u64 {
    fields(body, 1)
        .into_iter()
        .flat_map(|rs| fields(rs, 2))
        .map(|ss| fields(ss, 2).len() as u64)
        .sum()
}

fn sink() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
    println!("{}", listener.local_addr().expect("address").port());
    std::io::stdout().flush().expect("stdout");
    let count = Arc::new(AtomicU64::new(0));
    for stream in listener.incoming().flatten() {
        let count = Arc::clone(&count);
        std::thread::spawn(move || serve(stream, &count));
    }
}

fn serve(stream: TcpStream, count: &AtomicU64) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        let mut request_line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if request_line.is_empty() {
                request_line = l.to_owned();
            }
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if request_line.starts_with("GET /count") {
            // Answered, then closed (the asker reads to the end).
            let n = count.load(Ordering::SeqCst).to_string();
            let reply = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{n}", n.len());
            let _ = writer.write_all(reply.as_bytes());
            return;
        }
        count.fetch_add(spans_in(&body), Ordering::SeqCst);
        let reply =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn received(port: u16) -> u64 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the sink");
    s.write_all(b"GET /count HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .expect("ask the sink");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("the sink's answer");
    reply
        .rsplit("\r\n\r\n")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .expect("a count")
}

fn otel_in_span(tracer: &opentelemetry_sdk::trace::SdkTracer, x: u64) -> u64 {
    use opentelemetry::trace::Tracer as _;
    tracer.in_span("otel_in_span", |_cx| black_box(x).wrapping_mul(3))
}

/// Calls `call` flat out for `secs`, in chunks of 1000; the calls made.
fn load(secs: f64, mut call: impl FnMut(u64)) -> u64 {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut made = 0u64;
    while Instant::now() < end {
        for i in 0..1000 {
            call(made + i);
        }
        made += 1000;
    }
    made
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mode = args.first().map_or("ours", String::as_str).to_owned();
    if mode == "sink" {
        sink();
        return;
    }
    let benching = std::env::args().any(|a| a == "--bench");
    let secs: f64 = match args.get(1) {
        Some(s) => s.parse().expect("seconds"),
        None if benching => 3.0,
        None => 0.2,
    };
    let mut child = std::process::Command::new(std::env::current_exe().expect("this binary"))
        .arg("sink")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the sink process");
    let mut port = String::new();
    BufReader::new(child.stdout.take().expect("the sink's stdout"))
        .read_line(&mut port)
        .expect("the sink's port");
    let port: u16 = port.trim().parse().expect("a port");
    let endpoint = format!("http://127.0.0.1:{port}");

    let (made, cpu_ns) = match mode.as_str() {
        "ours" => {
            use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
            let exporter = OtlpExporter::builder()
                .endpoint(endpoint)
                .protocol(Protocol::HttpProtobuf)
                .build()
                .expect("an OTLP exporter");
            let telemetry = instrument_runtime::builder()
                .service_name("bench")
                .sample_ratio(1.0)
                .exporter(exporter)
                .install()
                .expect("install the pipeline");
            // Warm up (starts the threads, connects), not counted.
            let warm = load(0.2, |i| {
                black_box(ours(black_box(i)));
            });
            let _ = instrument_runtime::flush(Duration::from_secs(30));
            let tids = procfs::threads_named("instrument-");
            let cpu = || -> u64 { tids.iter().filter_map(|&t| procfs::thread_cpu_ns(t)).sum() };
            let before = received(port);
            let cpu0 = cpu();
            let made = load(secs, |i| {
                black_box(ours(black_box(i)));
            });
            let report = instrument_runtime::flush(Duration::from_secs(60));
            assert!(report.completed, "flush timed out");
            let cpu_ns = cpu() - cpu0;
            let s = telemetry.stats().exporters[0].spans;
            common::side("otlp_saturating/ours", "warmup_calls", warm);
            common::side("otlp_saturating/ours", "exported_stat", s.exported);
            common::side("otlp_saturating/ours", "dropped_stat", s.dropped_total());
            drop(telemetry);
            (made, (before, cpu_ns))
        }
        "sdk" => {
            use opentelemetry::trace::TracerProvider as _;
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(format!("{endpoint}/v1/traces"))
                .build()
                .expect("the SDK's OTLP exporter");
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_span_processor(
                    opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter).build(),
                )
                .build();
            let tracer = provider.tracer("bench");
            let _ = load(0.2, |i| {
                black_box(otel_in_span(&tracer, black_box(i)));
            });
            let _ = provider.force_flush();
            let tids: Vec<i32> = procfs::threads_named("OpenTelemetry")
                .into_iter()
                .chain(procfs::threads_named("reqwest-"))
                .collect();
            let cpu = || -> u64 { tids.iter().filter_map(|&t| procfs::thread_cpu_ns(t)).sum() };
            let before = received(port);
            let cpu0 = cpu();
            let made = load(secs, |i| {
                black_box(otel_in_span(&tracer, black_box(i)));
            });
            let _ = provider.force_flush();
            let cpu_ns = cpu() - cpu0;
            let _ = provider.shutdown();
            (made, (before, cpu_ns))
        }
        other => panic!("unknown configuration {other:?}: ours or sdk"),
    };
    let (before, cpu_ns) = cpu_ns;
    let delivered = received(port) - before;
    let id = format!("otlp_saturating/{mode}");
    common::side(&id, "calls", made);
    common::side(&id, "received", delivered);
    common::side(
        &id,
        "delivered_pct",
        format!("{:.2}", 100.0 * delivered as f64 / made.max(1) as f64),
    );
    common::side(
        &id,
        "exporter_cpu_ms",
        format!("{:.1}", cpu_ns as f64 / 1e6),
    );
    common::side(
        &id,
        "exporter_ns_per_received",
        format!("{:.1}", cpu_ns as f64 / delivered.max(1) as f64),
    );
    let _ = child.kill();
    let _ = child.wait();
}
