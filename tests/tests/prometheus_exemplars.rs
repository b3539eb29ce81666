//! A real Prometheus (2.42, `--enable-feature=exemplar-storage`) scrapes our endpoint in the
//! OpenMetrics format, and `/api/v1/query_exemplars` returns, for each latency bucket that
//! counted calls, the trace and span ids of the latest of those calls: ids of spans the
//! pipeline's other exporter (a testing exporter) received.
//!
//! Needs Debian's `prometheus` package (`ci/setup_prometheus.sh`), from
//! `INSTRUMENT_PROMETHEUS_BIN` or `PATH`; skipped without it unless
//! `INSTRUMENT_REQUIRE_RECEIVERS=1`.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use instrument_runtime::export::prometheus::PrometheusExporter;
use instrument_runtime::instrument;
use instrument_runtime::testing::TestExporter;
use instrument_tests::isolated;
use serde_json::Value;

/// How long Prometheus gets to start, scrape and store the exemplars.
const DEADLINE: Duration = Duration::from_secs(40);

#[instrument(buckets = [0.002, 1.0])]
fn served(sleep_ms: u64) {
    thread::sleep(Duration::from_millis(sleep_ms));
}

#[test]
fn prometheus_stores_exemplars_naming_exported_spans() {
    isolated(
        "prometheus_stores_exemplars_naming_exported_spans",
        Duration::from_secs(90),
        scenario,
    );
}

fn scenario() {
    let Some(binary) = prometheus_binary() else {
        return;
    };
    let prometheus = PrometheusExporter::serve(([127, 0, 0, 1], 0)).expect("bind 127.0.0.1:0");
    let endpoint = prometheus.local_addr().expect("endpoint address");
    let (testing, collected) = TestExporter::new();
    let telemetry = instrument_runtime::builder()
        .exporter(prometheus)
        .exporter(testing)
        .install()
        .unwrap();
    for _ in 0..5 {
        served(0); // le=0.002
    }
    for _ in 0..3 {
        served(5); // le=1
    }
    assert!(telemetry.flush(Duration::from_secs(10)).completed);
    let spans = collected.spans_named("served");
    assert_eq!(spans.len(), 8);
    let exported: HashSet<(String, String)> = spans
        .iter()
        .map(|s| (s.trace_id.to_string(), s.span_id.to_string()))
        .collect();

    let mut server = Prometheus::start(&binary, endpoint);
    let by_le =
        server.wait_for_exemplars("function_calls_duration_seconds_bucket{function=\"served\"}");
    eprintln!("exemplars by le: {by_le:?}");
    for (le, ids) in &by_le {
        for id in ids {
            assert!(exported.contains(id), "le={le}: {id:?} was not exported");
        }
    }
    // One exemplar per bucket that counted calls, the latest call of each.
    let latest = |i: usize| (spans[i].trace_id.to_string(), spans[i].span_id.to_string());
    let expected = BTreeMap::from([
        ("0.002".to_owned(), vec![latest(4)]),
        ("1".to_owned(), vec![latest(7)]),
    ]);
    assert_eq!(by_le, expected);
    drop(server);
    drop(telemetry);
}

/// A throwaway Prometheus: temp config and storage, a free loopback port, killed (by pid) on
/// drop, and by a watchdog if the test hangs.
struct Prometheus {
    addr: SocketAddr,
    dir: PathBuf,
    child: Child,
    alive: Arc<AtomicBool>,
}

impl Prometheus {
    fn start(binary: &Path, target: SocketAddr) -> Prometheus {
        let dir = temp_dir();
        let addr = free_port();
        let config = dir.join("prometheus.yml");
        let text = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - \
             job_name: instrument\n    static_configs:\n      - targets: ['{target}']\n"
        );
        fs::write(&config, text).expect("write config");
        let log = File::create(dir.join("prometheus.log")).expect("log file");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--enable-feature=exemplar-storage")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let pid = child.id();
        let alive = Arc::new(AtomicBool::new(true));
        let watched = Arc::clone(&alive);
        // The scenario runs in a child process whose watchdog (`isolated`) kills that process
        // but not this grandchild: kill it by pid past the deadline. Only while it is alive:
        // `Drop` clears the flag before reaping it, so the pid is still ours.
        thread::spawn(move || {
            thread::sleep(DEADLINE + Duration::from_secs(20));
            if watched.load(Ordering::SeqCst) {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        });
        Prometheus {
            addr,
            dir,
            child,
            alive,
        }
    }

    /// Polls `query_exemplars` until every bucket series of `selector` with exemplars has
    /// them for both buckets used; returns `le -> [(trace_id, span_id)]`.
    fn wait_for_exemplars(&mut self, selector: &str) -> BTreeMap<String, Vec<(String, String)>> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let found = self.exemplars(selector);
            if found.len() >= 2 {
                return found;
            }
            assert!(
                !matches!(self.child.try_wait(), Ok(Some(_))),
                "prometheus exited"
            );
            assert!(Instant::now() < deadline, "no exemplars in time: {found:?}");
            thread::sleep(Duration::from_millis(250));
        }
    }

    fn exemplars(&self, selector: &str) -> BTreeMap<String, Vec<(String, String)>> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let path = format!(
            "/api/v1/query_exemplars?query={}&start={}&end={}",
            percent_encode(selector),
            now - 600,
            now + 600
        );
        let Some(answer) = http_get(self.addr, &path)
            .ok()
            .and_then(|body| serde_json::from_str::<Value>(&body).ok())
        else {
            return BTreeMap::new();
        };
        let mut by_le = BTreeMap::new();
        for series in answer["data"].as_array().into_iter().flatten() {
            let le = series["seriesLabels"]["le"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let ids: Vec<(String, String)> = series["exemplars"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let label = |k: &str| e["labels"][k].as_str().unwrap_or("").to_owned();
                    (label("trace_id"), label("span_id"))
                })
                .collect();
            if !ids.is_empty() {
                by_le.insert(le, ids);
            }
        }
        by_le
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::SeqCst);
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            let log = fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
            eprintln!("prometheus log:\n{log}");
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn prometheus_binary() -> Option<PathBuf> {
    let found = std::env::var_os("INSTRUMENT_PROMETHEUS_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            let path = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path)
                .map(|dir| dir.join("prometheus"))
                .find(|p| p.is_file())
        })
        .filter(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var("INSTRUMENT_REQUIRE_RECEIVERS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "INSTRUMENT_REQUIRE_RECEIVERS=1 but prometheus is not installed"
        );
        eprintln!("skipping: prometheus not found (run ci/setup_prometheus.sh)");
    }
    found
}

fn temp_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("instrument-exemplars-{}-{nanos}", std::process::id());
    let dir = std::env::temp_dir().join(name);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A port that was free a moment ago (the race with other processes is accepted).
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr")
}

/// An HTTP/1.0 GET's body (neither chunked nor kept alive), with timeouts.
fn http_get(addr: SocketAddr, path: &str) -> io::Result<String> {
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    Ok(raw.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned())
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
