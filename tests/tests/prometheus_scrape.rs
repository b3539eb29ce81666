//! A real Prometheus server scrapes a `PrometheusExporter`, and `promtool check metrics` lints
//! its exposition.
//!
//! Needs Debian's `prometheus` package (`ci/setup_prometheus.sh`). The binaries come from
//! `INSTRUMENT_PROMETHEUS_BIN` / `INSTRUMENT_PROMTOOL_BIN`, else from `PATH`. Without them the
//! test is skipped, unless `INSTRUMENT_REQUIRE_RECEIVERS=1`, where it fails.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use instrument_runtime::export::prometheus::{PrometheusExporter, CONTENT_TYPE};
use instrument_runtime::export::{
    CounterPoint, GaugePoint, HistogramPoint, Labels, Metric, MetricData, MetricsSnapshot,
};
use instrument_runtime::{Batch, Exporter};
use serde_json::Value;

/// The whole test must end by then, or the process aborts (after killing Prometheus).
const WATCHDOG: Duration = Duration::from_secs(90);
/// How long Prometheus gets to start and scrape what we expect.
const SCRAPE_DEADLINE: Duration = Duration::from_secs(30);
/// Bucket bounds of the latency histogram, in seconds.
const BOUNDS: &[f64] = &[0.005, 0.01, 0.1, 1.0];
/// A label value with everything the text format must escape.
const NASTY_VALUE: &str = "C:\\dir \"quoted\"\nsecond line";

#[test]
fn real_prometheus_scrapes_the_exporter() {
    let Some((prometheus, promtool)) = binaries() else {
        return;
    };
    let slot = ChildSlot::default();
    start_watchdog(slot.clone());

    let mut exporter = PrometheusExporter::serve(([127, 0, 0, 1], 0)).expect("bind 127.0.0.1:0");
    let endpoint = exporter.local_addr().expect("endpoint address");
    export(&mut exporter, snapshot(42, [10, 20, 30, 40, 0], 25.0));

    let exposition = scrape_ourselves(endpoint, &exporter);
    check_with_promtool(&promtool, &exposition);

    let server = PrometheusServer::start(&prometheus, endpoint, slot);
    server.wait_until_target_is_up();
    check_first_snapshot(&server);

    // 10 more calls, all in the (0.01, 0.1] bucket: the rate-based median is 0.055. That is
    // exact only if `rate` extrapolates every bucket by the same factor. Prometheus stops a
    // counter's extrapolation at its zero point when that is nearer than 1.1 scrape intervals
    // before the first sample, which depends on each series' first value / increase: with
    // buckets of at least 60 before an increase of 10, the zero point is always farther.
    export(&mut exporter, snapshot(52, [10, 20, 40, 40, 0], 25.5));
    server.wait_for_value("function_calls_duration_seconds_count", "110");
    let query = "histogram_quantile(0.5, sum by (le) \
                 (rate(function_calls_duration_seconds_bucket[1m])))";
    assert_close(&server.value_of(query), 0.055);

    exporter.shutdown().expect("shutdown");
    assert!(TcpStream::connect(endpoint).is_err(), "endpoint still open");
}

fn check_first_snapshot(server: &PrometheusServer) {
    let ok = "function_calls_total{function=\"checkout\",module=\"shop\",result=\"ok\"}";
    assert_eq!(server.wait_for_any(ok), "42");
    assert_eq!(server.value_of("sum(function_calls_total)"), "45");
    let count = "function_calls_duration_seconds_count";
    assert_eq!(server.value_of(count), "100");
    assert_eq!(server.value_of("function_calls_duration_seconds_sum"), "25");
    let bucket = "function_calls_duration_seconds_bucket";
    assert_eq!(server.value_of(&format!("{bucket}{{le=\"0.01\"}}")), "30");
    assert_eq!(server.value_of(&format!("{bucket}{{le=\"1\"}}")), "100");
    assert_eq!(server.value_of(&format!("{bucket}{{le=\"+Inf\"}}")), "100");
    // Raw cumulative buckets 10, 30, 60, 100: rank 50 lies in (0.01, 0.1], 2/3 of the way.
    let median = format!("histogram_quantile(0.5, sum by (le) ({bucket}))");
    assert_close(&server.value_of(&median), 0.07);
    let processed = "otel_sdk_processor_span_processed_total{error_type=\"ring_full\"}";
    assert_eq!(server.value_of(processed), "7");
    assert_eq!(server.value_of("queue_fill_ratio"), "NaN");
    assert_eq!(server.label_of("escaping_check", "path"), NASTY_VALUE);
}

// ----- the snapshots ---------------------------------------------------------------------

fn snapshot(ok_calls: u64, buckets: [u64; 5], sum: f64) -> MetricsSnapshot {
    MetricsSnapshot {
        metrics: vec![
            calls(ok_calls),
            durations(buckets, sum),
            processed(),
            gauge("queue.fill", "1", f64::NAN, labels(&[])),
            gauge("escaping.check", "", 1.0, labels(&[("path", NASTY_VALUE)])),
        ],
        ..MetricsSnapshot::default()
    }
}

fn labels(pairs: &[(&'static str, &'static str)]) -> Labels {
    pairs
        .iter()
        .map(|&(key, value)| (Cow::Borrowed(key), Cow::Borrowed(value)))
        .collect()
}

fn call_labels(result: &'static str) -> Labels {
    labels(&[
        ("function", "checkout"),
        ("module", "shop"),
        ("result", result),
    ])
}

fn calls(ok_calls: u64) -> Metric {
    let points = vec![
        CounterPoint {
            labels: call_labels("ok"),
            value: ok_calls,
        },
        CounterPoint {
            labels: call_labels("error"),
            value: 3,
        },
    ];
    metric(
        "function_calls_total",
        "{call}",
        MetricData::Counter(points),
    )
}

fn durations(buckets: [u64; 5], sum: f64) -> Metric {
    let point = HistogramPoint {
        labels: call_labels("ok"),
        bounds: BOUNDS,
        bucket_counts: buckets.to_vec(),
        sum,
        count: buckets.iter().sum(),
        exemplars: Vec::new(),
        exponential: None,
    };
    let data = MetricData::Histogram(vec![point]);
    metric("function_calls_duration_seconds", "s", data)
}

fn processed() -> Metric {
    let point = CounterPoint {
        labels: labels(&[("error.type", "ring_full")]),
        value: 7,
    };
    let data = MetricData::Counter(vec![point]);
    metric("otel.sdk.processor.span.processed", "{span}", data)
}

fn gauge(name: &'static str, unit: &'static str, value: f64, labels: Labels) -> Metric {
    let data = MetricData::Gauge(vec![GaugePoint { labels, value }]);
    metric(name, unit, data)
}

fn metric(name: &'static str, unit: &'static str, data: MetricData) -> Metric {
    Metric {
        name: name.into(),
        description: format!("Test metric {name}.").into(),
        unit: unit.into(),
        data,
    }
}

fn export(exporter: &mut PrometheusExporter, snapshot: MetricsSnapshot) {
    let batch = Batch {
        metrics: Some(snapshot),
        ..Batch::default()
    };
    exporter.export(&batch).expect("export");
}

// ----- our endpoint and promtool ---------------------------------------------------------

/// GETs `/metrics` from the exporter: 200, the 0.0.4 content type, and what the handle renders.
fn scrape_ourselves(endpoint: SocketAddr, exporter: &PrometheusExporter) -> String {
    let response = http_get(endpoint, "/metrics").expect("GET /metrics");
    assert_eq!(response.status, 200, "{response:?}");
    let content_type = format!("content-type: {CONTENT_TYPE}");
    assert!(
        response.head.to_ascii_lowercase().contains(&content_type),
        "{response:?}"
    );
    assert_eq!(response.body, exporter.handle().render());
    eprintln!("exposition served by the exporter:\n{}", response.body);
    response.body
}

/// `promtool check metrics` reads the exposition on stdin; lint problems go to stderr with a
/// non-zero exit. It must accept ours without a word.
fn check_with_promtool(promtool: &Path, exposition: &str) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    let mut stdin = child.stdin.take().expect("promtool stdin");
    stdin.write_all(exposition.as_bytes()).expect("write stdin");
    drop(stdin);
    let output = child.wait_with_output().expect("promtool output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "promtool check metrics: {} {stdout:?} {stderr:?}",
        output.status
    );
    assert!(output.status.success(), "promtool: {stdout}{stderr}");
    assert_eq!(
        format!("{stdout}{stderr}").trim(),
        "",
        "promtool lint output"
    );
}

// ----- the Prometheus server -------------------------------------------------------------

/// Where the Prometheus child lives, shared with the watchdog so it can kill it too.
#[derive(Clone, Default)]
struct ChildSlot(Arc<Mutex<Option<Child>>>);

impl ChildSlot {
    fn put(&self, child: Child) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(child);
    }

    /// Kills and reaps the child, if any.
    fn kill(&self) {
        let child = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn exited(&self) -> bool {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(Some(_))))
    }
}

/// A throwaway Prometheus: temp config and storage, a free loopback port, killed on drop.
struct PrometheusServer {
    addr: SocketAddr,
    dir: PathBuf,
    child: ChildSlot,
}

impl PrometheusServer {
    fn start(binary: &Path, target: SocketAddr, slot: ChildSlot) -> PrometheusServer {
        let dir = temp_dir();
        let addr = free_port();
        let config = dir.join("prometheus.yml");
        fs::write(&config, config_text(target)).expect("write config");
        let log = File::create(dir.join("prometheus.log")).expect("log file");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        slot.put(child);
        PrometheusServer {
            addr,
            dir,
            child: slot,
        }
    }

    fn wait_until_target_is_up(&self) {
        let health = self.wait_for("target health up", |server| {
            let targets = server.api("/api/v1/targets")?;
            let health = targets["data"]["activeTargets"][0]["health"].as_str()?;
            (health == "up").then(|| health.to_owned())
        });
        eprintln!("prometheus target health: {health}");
    }

    /// Waits until `query` has a result, and returns the value of its first series.
    fn wait_for_any(&self, query: &str) -> String {
        let value = self.wait_for(query, |server| server.first_value(query));
        eprintln!("query {query} -> {value:?}");
        value
    }

    fn wait_for_value(&self, query: &str, expected: &str) {
        self.wait_for(&format!("{query} == {expected}"), |server| {
            server.first_value(query).filter(|v| v == expected)
        });
    }

    fn value_of(&self, query: &str) -> String {
        let value = self.first_value(query);
        eprintln!("query {query} -> {value:?}");
        value.unwrap_or_else(|| panic!("no result for {query}"))
    }

    fn label_of(&self, query: &str, label: &str) -> String {
        let series = self.series(query).unwrap_or_default();
        let value = series.first().and_then(|s| s["metric"][label].as_str());
        eprintln!("query {query} label {label} -> {value:?}");
        value
            .unwrap_or_else(|| panic!("no {label} in {series:?}"))
            .to_owned()
    }

    fn first_value(&self, query: &str) -> Option<String> {
        let series = self.series(query)?;
        series.first()?["value"][1].as_str().map(str::to_owned)
    }

    fn series(&self, query: &str) -> Option<Vec<Value>> {
        let path = format!("/api/v1/query?query={}", percent_encode(query));
        self.api(&path)?["data"]["result"].as_array().cloned()
    }

    fn api(&self, path: &str) -> Option<Value> {
        let response = http_get(self.addr, path).ok()?;
        serde_json::from_str(&response.body).ok()
    }

    /// Polls `probe` until it gives a value; fails at the deadline or if Prometheus exits.
    fn wait_for<T>(&self, what: &str, probe: impl Fn(&Self) -> Option<T>) -> T {
        let deadline = Instant::now() + SCRAPE_DEADLINE;
        loop {
            if let Some(found) = probe(self) {
                return found;
            }
            assert!(
                !self.child.exited(),
                "prometheus exited while waiting for {what}"
            );
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.child.kill();
        if thread::panicking() {
            let log = fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
            eprintln!("prometheus log:\n{log}");
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn config_text(target: SocketAddr) -> String {
    format!(
        r"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: instrument
    metrics_path: /metrics
    static_configs:
      - targets: ['{target}']
"
    )
}

fn temp_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("instrument-prometheus-{}-{nanos}", std::process::id());
    let dir = std::env::temp_dir().join(name);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A port that was free a moment ago (the race with other processes is accepted).
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr")
}

/// Aborts the process (after killing Prometheus) if the test outlives [`WATCHDOG`].
fn start_watchdog(slot: ChildSlot) {
    thread::Builder::new()
        .name("prometheus-test-watchdog".to_owned())
        .spawn(move || {
            thread::sleep(WATCHDOG);
            // Straight to stderr: `eprintln!` in a test's thread is captured, and lost on abort.
            let message = format!("watchdog: prometheus_scrape took over {WATCHDOG:?}; aborting");
            let _ = writeln!(io::stderr(), "{message}");
            slot.kill();
            std::process::abort();
        })
        .expect("watchdog thread");
}

// ----- finding the binaries --------------------------------------------------------------

/// Prometheus and promtool, or `None` (skip) when absent and receivers are not required.
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let prometheus = find_binary("INSTRUMENT_PROMETHEUS_BIN", "prometheus", None);
    let sibling = prometheus.as_ref().and_then(|p| p.parent());
    let promtool = find_binary("INSTRUMENT_PROMTOOL_BIN", "promtool", sibling);
    match (prometheus, promtool) {
        (Some(prometheus), Some(promtool)) => Some((prometheus, promtool)),
        _ => missing_receiver(),
    }
}

fn missing_receiver<T>() -> Option<T> {
    let message = "prometheus/promtool not found (set INSTRUMENT_PROMETHEUS_BIN or put them on \
                   PATH; run ci/setup_prometheus.sh to install them)";
    let required = std::env::var("INSTRUMENT_REQUIRE_RECEIVERS").is_ok_and(|v| v == "1");
    assert!(!required, "INSTRUMENT_REQUIRE_RECEIVERS=1 but {message}");
    eprintln!("skipping prometheus_scrape: {message}");
    None
}

/// `$env` if set, else `name` in `first_dir`, else on `PATH`.
fn find_binary(env: &str, name: &str, first_dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    first_dir
        .map(Path::to_path_buf)
        .into_iter()
        .chain(std::env::split_paths(&path))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

// ----- a tiny HTTP client ----------------------------------------------------------------

#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: String,
}

/// An HTTP/1.0 GET (so the answer is neither chunked nor kept alive), with timeouts.
fn http_get(addr: SocketAddr, path: &str) -> io::Result<Response> {
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    Ok(Response {
        status: status.unwrap_or(0),
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn assert_close(value: &str, expected: f64) {
    let parsed: f64 = value.parse().expect("a number");
    assert!((parsed - expected).abs() < 1e-9, "{parsed} != {expected}");
}
