//! Shared by the OTLP production-backend tests: the real receiver (`ci/otlp_receiver.py`,
//! oteltest's sink) started with options (TLS, mTLS, partial success), test certificates made
//! with `rcgen`, batches of known size, and readers of what the receiver decoded.

#![allow(dead_code)] // each test file uses part of it

use std::borrow::Cow;
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use instrument_runtime::export::otlp::Protocol;
use instrument_runtime::export::{
    CounterPoint, KeyValue, LogData, Metric, MetricData, MetricsSnapshot, SpanData, SpanStatus,
};
use instrument_runtime::{Batch, Level, SpanId, TraceId};
use serde_json::Value as Json;

/// The receiver's Python, or `None` (skip) when it is not installed and
/// `INSTRUMENT_REQUIRE_RECEIVERS` is not `1`.
pub fn receiver_python() -> Option<PathBuf> {
    let python = std::env::var_os("INSTRUMENT_OTLP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"));
    if python.exists() {
        return Some(python);
    }
    let message = format!(
        "OTLP receiver not installed ({} is missing): run ci/setup_otlp_receiver.sh",
        python.display()
    );
    if std::env::var("INSTRUMENT_REQUIRE_RECEIVERS").as_deref() == Ok("1") {
        panic!("{message} (INSTRUMENT_REQUIRE_RECEIVERS=1)");
    }
    eprintln!("skipping: {message}");
    None
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running `ci/otlp_receiver.py`, killed (by pid) on drop, even when an assert fails.
pub struct Receiver {
    child: Child,
    pub grpc_port: u16,
    pub http_port: u16,
    pub out: PathBuf,
    tls: bool,
}

impl Receiver {
    /// Starts the receiver with extra `args` (`--tls-cert`, `--partial-success`, ...).
    pub fn start(python: &Path, args: &[String]) -> Receiver {
        let (grpc_port, http_port) = (free_port(), free_port());
        let out =
            std::env::temp_dir().join(format!("instrument-otlp-{}-{grpc_port}.jsonl", unique()));
        let child = Command::new(python)
            .arg(repo().join("ci/otlp_receiver.py"))
            .args(["--grpc-port", &grpc_port.to_string()])
            .args(["--http-port", &http_port.to_string()])
            .arg("--out")
            .arg(&out)
            .args(["--max-lifetime", "120"])
            .args(args)
            // grpcio logs every refused TLS handshake at INFO: the tests expect some.
            .env("GRPC_VERBOSITY", "ERROR")
            .stdout(Stdio::null())
            .spawn()
            .expect("start ci/otlp_receiver.py");
        let mut receiver = Receiver {
            child,
            grpc_port,
            http_port,
            out,
            tls: args.iter().any(|a| a == "--tls-cert"),
        };
        receiver.wait_listening(Duration::from_secs(30));
        receiver
    }

    /// `http(s)://127.0.0.1:<port>` of the protocol's sink.
    pub fn endpoint(&self, protocol: Protocol) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        match protocol {
            Protocol::Grpc => format!("{scheme}://127.0.0.1:{}", self.grpc_port),
            Protocol::HttpProtobuf => format!("{scheme}://127.0.0.1:{}", self.http_port),
        }
    }

    /// Every request decoded so far.
    pub fn lines(&self) -> Vec<Json> {
        read_lines(&self.out)
    }

    /// Waits until `done(lines)` holds (or fails after `limit`), returning the lines.
    pub fn wait_for(&self, limit: Duration, done: impl Fn(&[Json]) -> bool) -> Vec<Json> {
        let deadline = Instant::now() + limit;
        loop {
            let lines = self.lines();
            if done(&lines) {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "receiver got only {} lines: {:.2000}",
                lines.len(),
                format!("{lines:?}")
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_listening(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        for port in [self.grpc_port, self.http_port] {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!("the OTLP receiver exited early ({status})");
                }
                assert!(
                    Instant::now() < deadline,
                    "receiver not listening on {port}"
                );
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.out);
    }
}

/// Every complete line the receiver wrote to `out` (a line still being written is skipped).
pub fn read_lines(out: &Path) -> Vec<Json> {
    let text = fs::read_to_string(out).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && l.ends_with('}'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The decoded requests of one signal.
pub fn requests<'a>(lines: &'a [Json], signal: &str) -> Vec<&'a Json> {
    lines.iter().filter(|l| l["signal"] == signal).collect()
}

/// `value` as a slice of its elements (empty if it is not an array).
pub fn array(value: &Json) -> &[Json] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// The decoded request bodies of one signal (`traces`, `logs`, `metrics`).
pub fn signal<'a>(lines: &'a [Json], name: &str) -> Vec<&'a Json> {
    requests(lines, name)
        .into_iter()
        .map(|l| &l["request"])
        .collect()
}

/// `request[outer][*][middle][*][inner]`, flattened (inner may be an array or an object).
pub fn items<'a>(requests: &[&'a Json], outer: &str, middle: &str, inner: &str) -> Vec<&'a Json> {
    let mut found = Vec::new();
    for request in requests {
        for resource in array(&request[outer]) {
            for scope in array(&resource[middle]) {
                match &scope[inner] {
                    Json::Array(values) => found.extend(values),
                    Json::Null => {}
                    value => found.push(value),
                }
            }
        }
    }
    found
}

/// The item whose `key` is `value` (fails the test if there is none).
pub fn find<'a>(items: &[&'a Json], key: &str, value: &str) -> &'a Json {
    let found = items.iter().find(|item| item[key] == value);
    found.unwrap_or_else(|| panic!("no {key} = {value:?} in {items:#?}"))
}

/// `true` if `item` has an attribute named `key`.
pub fn has_attribute(item: &Json, key: &str) -> bool {
    array(&item["attributes"]).iter().any(|kv| kv["key"] == key)
}

/// Spans received, over all requests.
pub fn spans(lines: &[Json]) -> Vec<&Json> {
    let mut found = Vec::new();
    for line in requests(lines, "traces") {
        for rs in array(&line["request"]["resourceSpans"]) {
            for ss in array(&rs["scopeSpans"]) {
                found.extend(array(&ss["spans"]));
            }
        }
    }
    found
}

/// Log records received, over all requests.
pub fn logs(lines: &[Json]) -> Vec<&Json> {
    let mut found = Vec::new();
    for line in requests(lines, "logs") {
        for rl in array(&line["request"]["resourceLogs"]) {
            for sl in array(&rl["scopeLogs"]) {
                found.extend(array(&sl["logRecords"]));
            }
        }
    }
    found
}

/// The resource attributes of a request line, as `key -> JSON value`.
pub fn resource_attribute<'a>(line: &'a Json, key: &str) -> Option<&'a Json> {
    let request = &line["request"];
    let resources = ["resourceSpans", "resourceLogs", "resourceMetrics"]
        .iter()
        .flat_map(|k| array(&request[*k]))
        .collect::<Vec<_>>();
    let first = resources.first()?;
    array(&first["resource"]["attributes"])
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| &kv["value"])
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

pub fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// Test PKI written to a temp directory: a CA, a server certificate for 127.0.0.1/localhost,
/// a client certificate, all signed by the CA; and an unrelated CA.
pub struct Certs {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub other_ca: PathBuf,
}

impl Certs {
    pub fn generate() -> Certs {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let dir = std::env::temp_dir().join(format!("instrument-certs-{}", unique()));
        fs::create_dir_all(&dir).expect("cert dir");
        let ca = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let key = KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            (cert, key)
        };
        let (ca_cert, ca_key) = ca("instrument test CA");
        let (other_cert, _) = ca("some other CA");
        let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose| {
            let mut params = CertificateParams::new(names).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, "instrument test");
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &ca_cert, &ca_key).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let server = leaf(
            vec!["127.0.0.1".into(), "localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let client = leaf(
            vec!["client.test".into()],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            fs::write(&path, pem).expect("write pem");
            path
        };
        Certs {
            ca: write("ca.pem", &ca_cert.pem()),
            server_cert: write("server.pem", &server.0),
            server_key: write("server.key", &server.1),
            client_cert: write("client.pem", &client.0),
            client_key: write("client.key", &client.1),
            other_ca: write("other-ca.pem", &other_cert.pem()),
            dir,
        }
    }

    /// Receiver arguments for TLS, with mTLS when `mtls`.
    pub fn receiver_args(&self, mtls: bool) -> Vec<String> {
        let mut args = vec![
            "--tls-cert".to_owned(),
            self.server_cert.display().to_string(),
            "--tls-key".to_owned(),
            self.server_key.display().to_string(),
        ];
        if mtls {
            args.push("--client-ca".to_owned());
            args.push(self.ca.display().to_string());
        }
        args
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A span named `name` with trace id `trace` and span id `id`, and `padding` bytes of
/// attribute (to make big batches).
pub fn span(name: &'static str, trace: u128, id: u64, padding: usize) -> SpanData {
    let mut attributes = vec![KeyValue::new("seq", id as i64)];
    if padding > 0 {
        attributes.push(KeyValue::new("padding", "x".repeat(padding)));
    }
    SpanData {
        trace_id: TraceId::from_u128(trace),
        span_id: SpanId::from_u64(id),
        parent_span_id: None,
        trace_flags: 1,
        name,
        target: "otlp_test",
        module_path: "otlp_test",
        file: "tests/otlp_test.rs",
        line: 1,
        level: Level::Info,
        start_unix_nanos: 1_700_000_000_000_000_000,
        end_unix_nanos: 1_700_000_000_000_500_000,
        status: SpanStatus::Unset,
        attributes,
        ..SpanData::default()
    }
}

/// A log record with body `body`.
pub fn log(body: String) -> LogData {
    LogData {
        timestamp_unix_nanos: 1_700_000_000_000_000_000,
        level: Level::Info,
        target: Cow::Borrowed("otlp_test"),
        body,
        trace_id: None,
        span_id: None,
        trace_flags: 0,
        module_path: None,
        file: None,
        line: None,
        attributes: vec![],
    }
}

/// `spans` spans, `logs` logs and one counter (value 7) in one batch.
pub fn batch(spans: usize, logs: usize) -> Batch {
    Batch {
        spans: (0..spans)
            .map(|i| span("tls_span", 0xabc, i as u64 + 1, 0))
            .collect(),
        logs: (0..logs).map(|i| log(format!("log {i}"))).collect(),
        metrics: Some(MetricsSnapshot {
            start_unix_nanos: 1_700_000_000_000_000_000,
            time_unix_nanos: 1_700_000_001_000_000_000,
            metrics: vec![Metric {
                name: "function_calls_total".into(),
                description: "calls".into(),
                unit: "1".into(),
                data: MetricData::Counter(vec![CounterPoint {
                    labels: vec![(Cow::Borrowed("function"), Cow::Borrowed("f"))],
                    value: 7,
                }]),
            }],
        }),
        resource: None,
    }
}
