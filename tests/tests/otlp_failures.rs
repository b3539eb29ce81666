//! The OTLP exporter against fake collectors that fail: every export returns the right
//! `ExportErrorKind` (retryable, permanent, timeout) within its deadline, and nothing is
//! retried inside the exporter (the exporter thread owns retry and circuit breaking).
//!
//! Fakes, all on 127.0.0.1: a port nobody listens on (connection refused), a server that
//! accepts and never answers, an HTTP server answering 503 with `Retry-After: 2` (and one
//! answering 400), and a minimal HTTP/2 server (h2) answering every gRPC call with a
//! trailers-only `grpc-status` (14 `UNAVAILABLE`, 3 `INVALID_ARGUMENT`). Every test body runs
//! under a watchdog, so a hang fails the test instead of hanging CI.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
use instrument_runtime::export::{
    CounterPoint, LogData, Metric, MetricData, MetricsSnapshot, SpanData, SpanStatus,
};
use instrument_runtime::{Batch, ExportError, ExportErrorKind, Exporter, Level, SpanId, TraceId};
use instrument_tests::within;

/// The exporters' deadline in these tests.
const DEADLINE: Duration = Duration::from_millis(1500);
/// "Returned within its deadline", generously: the point is that nothing hangs.
const BOUND: Duration = Duration::from_secs(10);
const TEST_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn refused_connection_is_retryable_over_grpc_and_http() {
    let port = closed_port();
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let err = export_to(port, protocol);
        assert_eq!(err.kind, ExportErrorKind::Retryable, "{protocol}: {err}");
    }
}

#[test]
fn a_server_that_never_answers_times_out_at_the_deadline() {
    let server = FakeServer::silent();
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let started = Instant::now();
        let err = export_to(server.port, protocol);
        assert_eq!(err.kind, ExportErrorKind::Timeout, "{protocol}: {err}");
        assert!(
            started.elapsed() >= DEADLINE - Duration::from_millis(100),
            "{protocol}: too early"
        );
    }
}

#[test]
fn http_503_with_retry_after_is_retryable_and_reports_it() {
    let server = FakeServer::http("503 Service Unavailable", "Retry-After: 2\r\n");
    let err = export_to(server.port, Protocol::HttpProtobuf);
    assert_eq!(err.kind, ExportErrorKind::Retryable, "{err}");
    for signal in ["traces", "logs", "metrics"] {
        let expected = format!("{signal}: HTTP status 503 (retry-after=2s)");
        assert!(err.message.contains(&expected), "{expected:?} not in {err}");
    }
    server.assert_one_request_per_signal();
}

#[test]
fn http_400_is_permanent() {
    let server = FakeServer::http("400 Bad Request", "");
    let err = export_to(server.port, Protocol::HttpProtobuf);
    assert_eq!(err.kind, ExportErrorKind::Permanent, "{err}");
    server.assert_one_request_per_signal();
}

/// Too big for the receiver: that batch's records are rejected (dropped, never retried, the
/// breaker stays closed), not a sink failure.
#[test]
fn http_413_rejects_the_batch_and_grpc_out_of_range_too() {
    let server = FakeServer::http("413 Payload Too Large", "");
    let err = export_to(server.port, Protocol::HttpProtobuf);
    // One span and one log record (metric points are not records of the batch).
    assert_eq!(err.kind, ExportErrorKind::Rejected { count: 2 }, "{err}");
    assert!(err.message.contains("413"), "{err}");
    server.assert_one_request_per_signal();
    let server = FakeServer::grpc_status(11);
    let err = export_to(server.port, Protocol::Grpc);
    assert_eq!(err.kind, ExportErrorKind::Rejected { count: 2 }, "{err}");
    assert!(err.message.contains("OutOfRange"), "{err}");
    server.assert_one_request_per_signal();
}

#[test]
fn grpc_unavailable_is_retryable() {
    let server = FakeServer::grpc_status(14);
    let err = export_to(server.port, Protocol::Grpc);
    assert_eq!(err.kind, ExportErrorKind::Retryable, "{err}");
    assert!(err.message.contains("Unavailable"), "{err}");
    server.assert_one_request_per_signal();
}

#[test]
fn grpc_invalid_argument_is_permanent() {
    let server = FakeServer::grpc_status(3);
    let err = export_to(server.port, Protocol::Grpc);
    assert_eq!(err.kind, ExportErrorKind::Permanent, "{err}");
    server.assert_one_request_per_signal();
}

/// The app may build the exporter anywhere, including inside a `current_thread` runtime: the
/// exporter brings its own runtime and must neither panic nor need the caller's.
#[test]
fn builds_exports_and_drops_inside_a_current_thread_runtime() {
    let port = closed_port();
    let err = within(TEST_LIMIT, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("test runtime");
        runtime.block_on(async move {
            let mut exporter = exporter(port, Protocol::Grpc);
            let err = exporter.export(&batch()).expect_err("nothing listens");
            exporter.shutdown().expect("shutdown");
            drop(exporter);
            err
        })
    });
    assert_eq!(err.kind, ExportErrorKind::Retryable, "{err}");
}

/// `from_env` reads the standard variables; an invalid one is reported once on stderr and its
/// default used. Run in a child process: changing the environment of this multi-threaded test
/// process would race with the other tests reading it.
#[test]
fn from_env_honours_variables_and_reports_invalid_ones_once() {
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([ENV_CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV_CHILD, "1")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4999")
        .env(
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "http://logs.example:4317",
        )
        .env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "not a url")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "ten seconds")
        .env("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b,broken")
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{stderr}"
    );
    for var in ["TIMEOUT=", "METRICS_ENDPOINT=", "HEADERS="] {
        let reports = stderr.matches(&format!("OTEL_EXPORTER_OTLP_{var}")).count();
        assert_eq!(reports, 1, "{var} reported {reports} times:\n{stderr}");
    }
}

const ENV_CHILD: &str = "INSTRUMENT_OTLP_ENV_CHILD";
const ENV_CHILD_TEST: &str = "from_env_child";

/// The child half of the test above; does nothing unless started by it.
#[test]
fn from_env_child() {
    if std::env::var_os(ENV_CHILD).is_none() {
        return;
    }
    for _ in 0..2 {
        let exporter = OtlpExporter::from_env();
        assert_eq!(exporter.protocol(), Protocol::Grpc);
        assert_eq!(
            exporter.timeout(),
            Duration::from_secs(10),
            "invalid timeout -> default"
        );
        let [traces, logs, metrics] = exporter.urls();
        assert_eq!(traces, "http://127.0.0.1:4999");
        assert_eq!(logs, "http://logs.example:4317");
        assert_eq!(
            metrics, "http://127.0.0.1:4999",
            "invalid endpoint -> base endpoint"
        );
    }
}

// ---- exporting ----

fn exporter(port: u16, protocol: Protocol) -> OtlpExporter {
    OtlpExporter::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .protocol(protocol)
        .timeout(DEADLINE)
        .build()
        .expect("valid configuration")
}

/// Exports one batch of every signal; it must fail, and return within [`BOUND`].
fn export_to(port: u16, protocol: Protocol) -> ExportError {
    within(TEST_LIMIT, move || {
        let mut exporter = exporter(port, protocol);
        let started = Instant::now();
        let result = exporter.export(&batch());
        let elapsed = started.elapsed();
        assert!(elapsed < BOUND, "{protocol}: export took {elapsed:?}");
        let shutdown_started = Instant::now();
        let _ = exporter.shutdown();
        assert!(
            shutdown_started.elapsed() < BOUND,
            "{protocol}: shutdown hung"
        );
        result.expect_err("the fake collector must make the export fail")
    })
}

fn batch() -> Batch {
    let span = SpanData {
        trace_id: TraceId::from_u128(0xfeed),
        span_id: SpanId::from_u64(0xbeef),
        parent_span_id: None,
        trace_flags: 1,
        name: "checkout",
        target: "shop",
        module_path: "shop",
        file: "src/shop.rs",
        line: 1,
        level: Level::Info,
        start_unix_nanos: 1_700_000_000_000_000_000,
        end_unix_nanos: 1_700_000_000_001_000_000,
        status: SpanStatus::Ok,
        attributes: vec![],
        ..Default::default()
    };
    let log = LogData {
        timestamp_unix_nanos: 1_700_000_000_000_500_000,
        level: Level::Warn,
        target: "shop".into(),
        body: "retrying payment".into(),
        trace_id: Some(span.trace_id),
        span_id: Some(span.span_id),
        trace_flags: 1,
        module_path: None,
        file: None,
        line: None,
        attributes: vec![],
    };
    let counter = Metric {
        name: "function_calls_total".into(),
        description: "Calls.".into(),
        unit: "{call}".into(),
        data: MetricData::Counter(vec![CounterPoint {
            labels: vec![(Cow::Borrowed("function"), Cow::Borrowed("checkout"))],
            value: 1,
        }]),
    };
    Batch {
        spans: vec![span],
        logs: vec![log],
        metrics: Some(MetricsSnapshot {
            start_unix_nanos: 1_699_999_990_000_000_000,
            time_unix_nanos: 1_700_000_000_002_000_000,
            metrics: vec![counter],
        }),
        resource: None,
    }
}

// ---- fake collectors ----

/// A port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// A fake collector on a thread; stopped and joined on drop. Notes the path of every request.
struct FakeServer {
    port: u16,
    paths: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    fn start(
        serve: impl FnOnce(TcpListener, Arc<Mutex<Vec<String>>>, Arc<AtomicBool>) + Send + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("address").port();
        let (paths, stop) = (Arc::default(), Arc::new(AtomicBool::new(false)));
        let (p, s) = (Arc::clone(&paths), Arc::clone(&stop));
        let thread = thread::spawn(move || serve(listener, p, s));
        FakeServer {
            port,
            paths,
            stop,
            thread: Some(thread),
        }
    }

    /// Accepts connections and holds them open without reading or writing a byte.
    fn silent() -> Self {
        FakeServer::start(|listener, _paths, stop| {
            let mut held = Vec::new();
            accept_until(&listener, &stop, |stream| held.push(stream));
        })
    }

    /// Answers every HTTP request with `status` and `headers` (each ending in `\r\n`).
    fn http(status: &'static str, headers: &'static str) -> Self {
        FakeServer::start(move |listener, paths, stop| {
            accept_until(&listener, &stop, |stream| {
                if let Some(path) = answer_http(stream, status, headers) {
                    paths.lock().unwrap().push(path);
                }
            });
        })
    }

    /// A minimal HTTP/2 server answering every gRPC call with a trailers-only response
    /// carrying `grpc-status: code`.
    fn grpc_status(code: u8) -> Self {
        FakeServer::start(move |listener, paths, stop| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("fake server runtime");
            runtime.block_on(serve_grpc(listener, code, paths, stop));
        })
    }

    /// Exactly one request per signal: the exporter did not retry.
    fn assert_one_request_per_signal(&self) {
        let mut paths = self.paths.lock().unwrap().clone();
        paths.sort();
        assert_eq!(
            paths.len(),
            3,
            "expected one request per signal, got {paths:?}"
        );
        for signal in ["logs", "metrics", "trace"] {
            let hits = paths
                .iter()
                .filter(|p| p.to_lowercase().contains(signal))
                .count();
            assert_eq!(hits, 1, "{signal}: {paths:?}");
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Polls a non-blocking listener until `stop` is set.
fn accept_until(listener: &TcpListener, stop: &AtomicBool, mut on_accept: impl FnMut(TcpStream)) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => on_accept(stream),
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Reads one HTTP/1.1 request (headers and `Content-Length` body), answers it, closes.
fn answer_http(stream: TcpStream, status: &str, headers: &str) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let response =
        format!("HTTP/1.1 {status}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n");
    reader.get_mut().write_all(response.as_bytes()).ok()?;
    request_line.split_whitespace().nth(1).map(str::to_owned)
}

async fn serve_grpc(
    listener: TcpListener,
    code: u8,
    paths: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    while !stop.load(Ordering::Relaxed) {
        let accepted = tokio::time::timeout(Duration::from_millis(20), listener.accept()).await;
        if let Ok(Ok((socket, _))) = accepted {
            tokio::spawn(answer_grpc(socket, code, Arc::clone(&paths)));
        }
    }
}

async fn answer_grpc(socket: tokio::net::TcpStream, code: u8, paths: Arc<Mutex<Vec<String>>>) {
    let Ok(mut connection) = h2::server::handshake(socket).await else {
        return;
    };
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        paths.lock().unwrap().push(request.uri().path().to_owned());
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/grpc")
            .header("grpc-status", code.to_string())
            .header("grpc-message", "fake collector")
            .body(())
            .expect("response");
        let _ = respond.send_response(response, true);
    }
}
