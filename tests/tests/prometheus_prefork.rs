//! Pre-fork servers (issue 14, "Pre-fork metrics"): a parent forks workers with real
//! `fork(2)`; with `PrometheusBuilder::multiprocess_dir` the parent serves one endpoint whose
//! scrape is the exact sum of every process, a worker that exits (or is killed with SIGKILL
//! after it reported) keeps its counts, a new worker adds its own, and a real Prometheus sees
//! no counter reset. Each scenario runs in its own process (`isolated`, a watchdog), every
//! wait is bounded, and every forked process is killed if the scenario fails.
//!
//! The Prometheus part needs Debian's `prometheus` package (`ci/setup_prometheus.sh`; binary
//! from `INSTRUMENT_PROMETHEUS_BIN`, else `PATH`); without it only that part is skipped,
//! unless `INSTRUMENT_REQUIRE_RECEIVERS=1`, where it fails.
#![cfg(unix)]

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use instrument_runtime::export::prometheus::{
    MultiprocessRole, PrometheusExporter, FRESH_WAIT, MULTIPROC_DIR_ENV, SOCKET_NAME,
};
use instrument_runtime::export::testing::{Collected, TestExporter};
use instrument_runtime::export::MetricData;
use instrument_runtime::instrument;
use instrument_tests::isolated;
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
/// Each scenario's process is killed by `isolated` after this.
const SCENARIO: Duration = Duration::from_secs(150);
/// Before that, our own watchdog kills Prometheus and the workers, then aborts.
const WATCHDOG: Duration = Duration::from_secs(130);
/// Buckets of the latency histogram (20 bounds and `+Inf`).
const BUCKETS: usize = 21;

#[instrument]
fn prefork_work(i: u64) -> u64 {
    std::hint::black_box(i * 2)
}

/// Called by one worker only: a series only some processes have.
#[instrument]
fn prefork_rare(i: u64) -> u64 {
    std::hint::black_box(i + 1)
}

// ----- what every process (parent and workers) builds from the recipe -------------------

/// The multiprocess directory (set by the parent before it installs; workers inherit it).
static DIR: OnceLock<PathBuf> = OnceLock::new();
/// The report interval, in ms, the next exporter is built with (workers inherit the value
/// the parent set before forking them).
static REPORT_MS: AtomicU64 = AtomicU64::new(1000);
/// The endpoint address (only the aggregating parent has one).
static ADDR: OnceLock<SocketAddr> = OnceLock::new();
/// What the Prometheus exporter made in this process is (the last one built).
static ROLE: Mutex<Option<MultiprocessRole>> = Mutex::new(None);
/// This process's own metrics, through a test exporter beside the Prometheus one.
static OWN: Mutex<Option<Collected>> = Mutex::new(None);

fn prometheus_exporter() -> PrometheusExporter {
    let exporter = PrometheusExporter::builder()
        .addr(([127, 0, 0, 1], 0))
        .multiprocess_dir(DIR.get().expect("dir set"))
        .report_interval(Duration::from_millis(REPORT_MS.load(Ordering::Relaxed)))
        .build()
        .expect("multiprocess exporter");
    if let Some(addr) = exporter.local_addr() {
        let _ = ADDR.set(addr);
    }
    *ROLE.lock().unwrap_or_else(PoisonError::into_inner) = exporter.multiprocess_role();
    exporter
}

fn own_exporter() -> TestExporter {
    let (exporter, collected) = TestExporter::new();
    *OWN.lock().unwrap_or_else(PoisonError::into_inner) = Some(collected);
    exporter
}

fn install() -> instrument_runtime::Telemetry {
    instrument_runtime::builder()
        .exporter_factory(prometheus_exporter)
        .exporter_factory(own_exporter)
        // Only flushes and scrapes make snapshots: every count below is deterministic.
        .metrics_interval(Duration::from_secs(3600))
        .install()
        .expect("install")
}

/// This process's own `prefork_work` latency buckets (non-cumulative), after a flush.
fn own_buckets() -> Vec<u64> {
    assert!(instrument_runtime::flush(T).completed, "flush");
    let own = OWN.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let snapshot = own.and_then(|c| c.metrics());
    let Some(snapshot) = snapshot else {
        return vec![0; BUCKETS];
    };
    let metric = snapshot
        .get("function_calls_duration_seconds")
        .expect("latency histogram");
    let MetricData::Histogram(points) = &metric.data else {
        panic!("not a histogram")
    };
    let mut buckets = vec![0; BUCKETS];
    for p in points.iter().filter(|p| {
        p.labels
            .iter()
            .any(|(k, v)| k == "function" && v == "prefork_work")
    }) {
        for (b, c) in buckets.iter_mut().zip(&p.bucket_counts) {
            *b += c;
        }
    }
    buckets
}

// ----- the workers ----------------------------------------------------------------------

/// A forked worker, driven through two pipes.
struct Worker {
    pid: libc::pid_t,
    commands: File,
    replies: File,
    /// Its latency buckets at its last reply.
    buckets: Vec<u64>,
    calls: u64,
}

/// Forks a worker that makes `calls` calls, flushes, and waits for commands.
fn fork_worker(calls: u64) -> Worker {
    let (to_worker, to_parent) = (pipe(), pipe());
    io::stdout().flush().expect("flush stdout");
    // SAFETY: the child runs only this file's code (its pipeline restarts from the recipe)
    // and leaves through `_exit`, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: closing the pipe ends this side does not use.
        unsafe {
            libc::close(to_worker[1]);
            libc::close(to_parent[0]);
        }
        let code = std::panic::catch_unwind(|| worker_main(calls, to_worker[0], to_parent[1]))
            .unwrap_or(101);
        // SAFETY: leave without running the harness's exit path.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: closing the ends the parent does not use; the others are owned by `File`s.
    let (commands, replies) = unsafe {
        libc::close(to_worker[0]);
        libc::close(to_parent[1]);
        (
            File::from_raw_fd(to_worker[1]),
            File::from_raw_fd(to_parent[0]),
        )
    };
    let mut worker = Worker {
        pid,
        commands,
        replies,
        buckets: Vec::new(),
        calls,
    };
    worker.read_reply();
    worker
}

fn pipe() -> [libc::c_int; 2] {
    let mut fds = [0; 2];
    // SAFETY: a valid two-int array for pipe(2).
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    fds
}

/// The worker's side. Commands: `c` + u32 (make that many calls, flush, reply), `n` + u32
/// (make them without a flush, reply), `r` + u32 (that many calls of `prefork_rare`, flush,
/// reply), `s` + u32 (swap in a new Prometheus exporter built here, make that many calls,
/// flush, reply), `x` (flush and exit). A reply is its buckets after
/// the command, one line. End of the command pipe (the parent died): exit.
fn worker_main(calls: u64, commands: libc::c_int, replies: libc::c_int) -> i32 {
    // SAFETY: the fds are this process's pipe ends, owned from here on.
    let (mut commands, mut replies) =
        unsafe { (File::from_raw_fd(commands), File::from_raw_fd(replies)) };
    for i in 0..calls {
        prefork_work(i);
    }
    let mut buckets = own_buckets();
    let role = *ROLE.lock().unwrap_or_else(PoisonError::into_inner);
    assert_eq!(role, Some(MultiprocessRole::Reporter), "a worker reports");
    loop {
        let line: Vec<String> = buckets.iter().map(u64::to_string).collect();
        let line = format!("{}\n", line.join(" "));
        if replies.write_all(line.as_bytes()).is_err() {
            return 3;
        }
        let mut command = [0u8; 1];
        if commands.read_exact(&mut command).is_err() {
            return 2;
        }
        match command[0] {
            b's' => {
                let mut n = [0u8; 4];
                if commands.read_exact(&mut n).is_err() {
                    return 2;
                }
                instrument_runtime::set_exporter(prometheus_exporter(), T).expect("swap");
                for i in 0..u32::from_le_bytes(n) {
                    prefork_work(u64::from(i));
                }
                assert!(instrument_runtime::flush(T).completed, "flush");
            }
            b'c' | b'n' | b'r' => {
                let mut n = [0u8; 4];
                if commands.read_exact(&mut n).is_err() {
                    return 2;
                }
                for i in 0..u32::from_le_bytes(n) {
                    if command[0] == b'r' {
                        prefork_rare(u64::from(i));
                    } else {
                        prefork_work(u64::from(i));
                    }
                }
                if command[0] != b'n' {
                    buckets = own_buckets();
                }
            }
            b'x' => {
                own_buckets();
                return 0;
            }
            _ => return 4,
        }
    }
}

impl Worker {
    fn read_reply(&mut self) {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while byte[0] != b'\n' {
            let n = self.replies.read(&mut byte).expect("read worker reply");
            assert!(n == 1, "worker {} died (reply so far {line:?})", self.pid);
            line.push(byte[0]);
        }
        let line = String::from_utf8(line).expect("utf-8 reply");
        self.buckets = line
            .split_whitespace()
            .map(|v| v.parse().expect("a count"))
            .collect();
        assert_eq!(self.buckets.len(), BUCKETS, "reply {line:?}");
    }

    /// Makes `n` more calls; `flush`: and flushes (its counts reach the aggregator).
    fn call(&mut self, n: u32, flush: bool) {
        let mut command = vec![if flush { b'c' } else { b'n' }];
        command.extend_from_slice(&n.to_le_bytes());
        self.commands.write_all(&command).expect("command");
        self.read_reply();
        self.calls += u64::from(n);
    }

    /// Makes `n` calls of `prefork_rare` and flushes.
    fn call_rare(&mut self, n: u32) {
        let mut command = vec![b'r'];
        command.extend_from_slice(&n.to_le_bytes());
        self.commands.write_all(&command).expect("command");
        self.read_reply();
    }

    /// Swaps in a new Prometheus exporter (built in the worker), makes `n` calls, flushes.
    fn swap(&mut self, n: u32) {
        let mut command = vec![b's'];
        command.extend_from_slice(&n.to_le_bytes());
        self.commands.write_all(&command).expect("command");
        self.read_reply();
    }

    /// Flush and exit; waits for it.
    fn exit(self) {
        let mut commands = self.commands;
        commands.write_all(b"x").expect("exit command");
        assert_eq!(wait_child(self.pid), Some(0), "worker {} exit", self.pid);
    }

    /// SIGKILL, then reap.
    fn kill(self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        assert_eq!(wait_child(self.pid), None, "worker {} killed", self.pid);
    }
}

/// Waits for `pid` (bounded); its exit code, `None` if a signal ended it.
fn wait_child(pid: libc::pid_t) -> Option<i32> {
    let started = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        }
        assert!(started.elapsed() < T, "worker {pid} did not exit");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Kills every worker still running if the scenario fails (or its watchdog fires).
#[derive(Clone, Default)]
struct Reaper(Arc<Mutex<Vec<libc::pid_t>>>);

impl Reaper {
    fn add(&self, pid: libc::pid_t) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pid);
    }
    fn kill_all(&self) {
        for pid in self.0.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            // SAFETY: signalling a child we forked (already reaped ones get ESRCH or are
            // zombies of ours; pids are not reused while we have not reaped them).
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
    }
}

/// Sums the buckets of every process.
fn sum_buckets<'a>(all: impl IntoIterator<Item = &'a Vec<u64>>) -> Vec<u64> {
    let mut sum = vec![0; BUCKETS];
    for b in all {
        for (s, v) in sum.iter_mut().zip(b) {
            *s += v;
        }
    }
    sum
}

// ----- a direct scrape ------------------------------------------------------------------

/// The exposition, scraped over HTTP.
fn scrape(addr: SocketAddr) -> String {
    let started = Instant::now();
    let response = http_get(addr, "/metrics").expect("GET /metrics");
    eprintln!("scrape took {:?}", started.elapsed());
    assert_eq!(response.status, 200, "{response:?}");
    response.body
}

/// A scrape of live, answering workers: within the bounded wait (plus room for a loaded
/// machine; answering workers end the wait early, see the timings printed).
fn fast_scrape(addr: SocketAddr) -> String {
    let started = Instant::now();
    let text = scrape(addr);
    let took = started.elapsed();
    assert!(
        took < FRESH_WAIT + Duration::from_millis(750),
        "a scrape of answering workers took {took:?}"
    );
    text
}

/// The value of the one sample `name{labels}` whose labels include every `(k, v)` of `with`;
/// panics if none or several match.
fn sample(text: &str, name: &str, with: &[(&str, &str)]) -> u64 {
    let found: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| {
            with.iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|l| {
            l.rsplit(' ')
                .next()
                .expect("value")
                .parse()
                .expect("integer")
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {with:?} in:\n{text}");
    found[0]
}

/// The cumulative `prefork_work` latency buckets of an exposition (`le` ascending, `+Inf`
/// last), as non-cumulative counts.
fn scraped_buckets(text: &str) -> Vec<u64> {
    let cumulative: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("function_calls_duration_seconds_bucket{"))
        .filter(|l| l.contains("function=\"prefork_work\""))
        .map(|l| {
            l.rsplit(' ')
                .next()
                .expect("value")
                .parse()
                .expect("integer")
        })
        .collect();
    assert_eq!(cumulative.len(), BUCKETS, "{text}");
    let mut previous = 0;
    cumulative
        .iter()
        .map(|&c| {
            let b = c - previous;
            previous = c;
            b
        })
        .collect()
}

/// Checks the exposition against the expected total calls and buckets: one series of calls
/// (no process label), exact, and the histogram exact bucket by bucket.
fn check_exact(text: &str, calls: u64, buckets: &[u64]) {
    let ok = [("function", "prefork_work"), ("result", "ok")];
    assert_eq!(sample(text, "function_calls_total", &ok), calls, "{text}");
    let series = text
        .lines()
        .filter(|l| l.starts_with("function_calls_total{") && l.contains("prefork_work"))
        .count();
    assert_eq!(series, 1, "one series, no process label:\n{text}");
    assert_eq!(
        sample(text, "function_calls_duration_seconds_count", &ok),
        calls
    );
    assert_eq!(
        buckets.iter().sum::<u64>(),
        calls,
        "the workers' own buckets"
    );
    assert_eq!(scraped_buckets(text), buckets, "bucket by bucket:\n{text}");
}

// ----- scenario 1: four workers, one exits and one is killed, two replacements ----------

#[test]
fn prefork_workers_are_one_exact_scrape() {
    isolated("prefork_workers_are_one_exact_scrape", SCENARIO, || {
        let prometheus_bin = prometheus_binary();
        let reaper = Reaper::default();
        let slot = ChildSlot::default();
        start_watchdog(slot.clone(), reaper.clone());
        let dir = temp_dir("prefork");
        // A stale socket from a previous run: nobody listens on it any more.
        drop(UnixListener::bind(dir.join(SOCKET_NAME)).expect("stale socket"));
        DIR.set(dir.clone()).expect("dir once");
        let telemetry = install();
        for i in 0..5 {
            prefork_work(i);
        }
        let parent_buckets = own_buckets();
        let role = *ROLE.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(
            role,
            Some(MultiprocessRole::Aggregator),
            "the parent serves"
        );
        let addr = *ADDR.get().expect("the parent has the endpoint");

        let mut workers: Vec<Worker> = [10, 20, 30, 40].into_iter().map(fork_worker).collect();
        for w in &workers {
            reaper.add(w.pid);
        }
        let expected = |workers: &[Worker], exited: &[Vec<u64>], parent: &[u64]| {
            let all = workers.iter().map(|w| &w.buckets).chain(exited);
            let mut b = sum_buckets(all);
            for (s, p) in b.iter_mut().zip(parent) {
                *s += p;
            }
            b
        };
        let before = expected(&workers, &[], &parent_buckets);
        check_exact(&fast_scrape(addr), 105, &before);

        let server = prometheus_bin.map(|bin| PrometheusServer::start(&bin, addr, slot.clone()));
        if let Some(server) = &server {
            server.wait_until_target_is_up();
            server.wait_for_value(
                "sum(function_calls_total{function=\"prefork_work\"})",
                "105",
            );
        }

        // Worker 3 makes 7 more calls and exits; worker 2 is killed with SIGKILL (everything
        // it did was reported: its last flush sent it).
        let mut exited = Vec::new();
        let mut third = workers.remove(2);
        third.call(7, true);
        third.call_rare(4);
        exited.push(third.buckets.clone());
        third.exit();
        let second = workers.remove(1);
        exited.push(second.buckets.clone());
        second.kill();
        // Give a real Prometheus scrapes of the state without them.
        let during = expected(&workers, &exited, &parent_buckets);
        let text = scrape(addr);
        check_exact(&text, 105 + 7, &during);
        // The series only the exited worker had stays.
        let rare = [("function", "prefork_rare"), ("result", "ok")];
        assert_eq!(sample(&text, "function_calls_total", &rare), 4);
        if let Some(server) = &server {
            server.wait_for_value(
                "sum(function_calls_total{function=\"prefork_work\"})",
                &(105 + 7).to_string(),
            );
            server.wait_scrapes(2);
        }

        // Replacements: 50 and 60 calls; the parent makes 3 more.
        for calls in [50, 60] {
            let w = fork_worker(calls);
            reaper.add(w.pid);
            workers.push(w);
        }
        for i in 0..3 {
            prefork_work(i);
        }
        let parent_buckets = own_buckets();
        let total = 5 + 3 + 10 + 20 + 37 + 40 + 50 + 60;
        let after = expected(&workers, &exited, &parent_buckets);
        check_exact(&fast_scrape(addr), total, &after);

        if let Some(server) = &server {
            let sum = "sum(function_calls_total{function=\"prefork_work\"})";
            server.wait_for_value(sum, &total.to_string());
            server.wait_scrapes(2);
            assert_eq!(server.value_of(sum), total.to_string());
            let count = "sum(function_calls_duration_seconds_count{function=\"prefork_work\"})";
            assert_eq!(server.value_of(count), total.to_string());
            // The scraper never saw a counter go down, through an exit and a SIGKILL.
            for series in [
                "function_calls_total{function=\"prefork_work\"}",
                "function_calls_duration_seconds_count{function=\"prefork_work\"}",
                "function_calls_duration_seconds_bucket{function=\"prefork_work\",le=\"+Inf\"}",
            ] {
                let resets = format!("sum(resets({series}[10m]))");
                assert_eq!(server.value_of(&resets), "0", "{resets}");
            }
            // One series: no process label unless asked for.
            let count = "count(function_calls_total{function=\"prefork_work\"})";
            assert_eq!(server.value_of(count), "1");
            let rare = "sum(function_calls_total{function=\"prefork_rare\"})";
            assert_eq!(server.value_of(rare), "4");
        }

        for w in workers {
            w.exit();
        }
        // Every worker's calls still count after they all exited.
        let done = scrape(addr);
        let ok = [("function", "prefork_work"), ("result", "ok")];
        assert_eq!(sample(&done, "function_calls_total", &ok), total);
        let rare = [("function", "prefork_rare"), ("result", "ok")];
        assert_eq!(sample(&done, "function_calls_total", &rare), 4);
        telemetry.shutdown_with_timeout(T);
        assert!(
            !dir.join(SOCKET_NAME).exists(),
            "the aggregator removes its socket when it stops"
        );
        drop(server);
        let _ = fs::remove_dir_all(&dir);
    });
}

// ----- scenario 2: SIGKILL loses at most the calls of the last report interval ----------

#[test]
fn a_killed_worker_loses_only_its_unreported_calls() {
    isolated(
        "a_killed_worker_loses_only_its_unreported_calls",
        SCENARIO,
        || {
            let reaper = Reaper::default();
            start_watchdog(ChildSlot::default(), reaper.clone());
            let dir = temp_dir("prefork-kill");
            DIR.set(dir.clone()).expect("dir once");
            let telemetry = install();
            prefork_work(0);
            let addr = *ADDR.get().expect("endpoint");
            let ok = [("function", "prefork_work"), ("result", "ok")];
            let calls = |text: &str| sample(text, "function_calls_total", &ok);

            // A worker that reports only when asked (report interval 1 h).
            REPORT_MS.store(3_600_000, Ordering::Relaxed);
            let mut quiet = fork_worker(10);
            reaper.add(quiet.pid);
            // A worker that reports every 50 ms.
            REPORT_MS.store(50, Ordering::Relaxed);
            let mut chatty = fork_worker(10);
            reaper.add(chatty.pid);
            assert_eq!(calls(&scrape(addr)), 21);

            // Both make 6 calls without a flush. The quiet one is killed before anything asks
            // for its counts: exactly those 6 are lost. The chatty one is killed after 20 of its
            // report intervals: nothing is lost.
            quiet.call(6, false);
            chatty.call(6, false);
            quiet.kill();
            thread::sleep(Duration::from_secs(1));
            chatty.kill();
            let text = scrape(addr);
            assert_eq!(calls(&text), 1 + 10 + 10 + 6, "{text}");
            // And the counts stay: a later scrape sees the same.
            assert_eq!(calls(&scrape(addr)), 27);

            // A live worker's unflushed calls are in a scrape at once (the scrape asks it).
            REPORT_MS.store(3_600_000, Ordering::Relaxed);
            let mut live = fork_worker(4);
            reaper.add(live.pid);
            live.call(3, false);
            assert_eq!(calls(&scrape(addr)), 27 + 7);

            // A worker that cannot answer (stopped) delays a scrape by at most the bounded
            // wait, and its last counts are still served.
            live.call(2, false);
            // SAFETY: signalling our own child.
            unsafe { libc::kill(live.pid, libc::SIGSTOP) };
            // Twice: the second scrape sends it no second demand, it waits for the first.
            for _ in 0..2 {
                let started = Instant::now();
                let text = scrape(addr);
                let took = started.elapsed();
                eprintln!("scrape with a stopped worker took {took:?}");
                assert_eq!(calls(&text), 34, "its last reported counts");
                assert!(took >= FRESH_WAIT, "waited for it: {took:?}");
                assert!(took < FRESH_WAIT + Duration::from_millis(750), "{took:?}");
            }
            // SAFETY: as above.
            unsafe { libc::kill(live.pid, libc::SIGCONT) };
            assert_eq!(calls(&scrape(addr)), 36, "answered again once it runs");
            live.exit();
            assert_eq!(calls(&scrape(addr)), 36);

            // A worker swaps in a new exporter: one connection per process, its counts are
            // not counted twice (the old exporter's last snapshot is not retired).
            let mut swapper = fork_worker(5);
            reaper.add(swapper.pid);
            assert_eq!(calls(&scrape(addr)), 41);
            swapper.swap(4);
            assert_eq!(calls(&scrape(addr)), 45);
            swapper.exit();
            assert_eq!(calls(&scrape(addr)), 45);

            // The parent stops its exporter while a worker lives: the port and the socket
            // are gone (the worker closed its inherited copies at the fork).
            let last = fork_worker(1);
            reaper.add(last.pid);
            telemetry.shutdown_with_timeout(T);
            let refused = TcpStream::connect_timeout(&addr, Duration::from_secs(2));
            assert!(
                refused.is_err(),
                "the port is still held after the parent let it go"
            );
            assert!(!dir.join(SOCKET_NAME).exists());
            last.exit();
            let _ = fs::remove_dir_all(&dir);
        },
    );
}

// ----- scenario 3: the process label, when asked for -------------------------------------

#[test]
fn the_process_label_is_opt_in_and_exited_processes_keep_their_series() {
    isolated(
        "the_process_label_is_opt_in_and_exited_processes_keep_their_series",
        SCENARIO,
        || {
            let reaper = Reaper::default();
            start_watchdog(ChildSlot::default(), reaper.clone());
            let dir = temp_dir("prefork-label");
            // The directory from the environment this time (the builder names none).
            // SAFETY of set_var: this scenario's process runs this one test, on one thread,
            // before anything reads the environment.
            std::env::set_var(MULTIPROC_DIR_ENV, &dir);
            let telemetry = instrument_runtime::builder()
                .exporter_factory(|| {
                    let e = PrometheusExporter::builder()
                        .addr(([127, 0, 0, 1], 0))
                        .process_label("pid")
                        .build()
                        .expect("exporter");
                    if let Some(addr) = e.local_addr() {
                        let _ = ADDR.set(addr);
                    }
                    *ROLE.lock().unwrap_or_else(PoisonError::into_inner) = e.multiprocess_role();
                    e
                })
                .exporter_factory(own_exporter)
                .metrics_interval(Duration::from_secs(3600))
                .install()
                .expect("install");
            prefork_work(0);
            let addr = *ADDR.get().expect("endpoint");
            let a = fork_worker(2);
            reaper.add(a.pid);
            let b = fork_worker(3);
            reaper.add(b.pid);
            let me = std::process::id().to_string();
            let (a_pid, b_pid) = (a.pid.to_string(), b.pid.to_string());
            let series = |text: &str, pid: &str| {
                sample(
                    text,
                    "function_calls_total",
                    &[("function", "prefork_work"), ("pid", pid)],
                )
            };
            let text = scrape(addr);
            assert_eq!(series(&text, &me), 1, "{text}");
            assert_eq!(series(&text, &a_pid), 2, "{text}");
            assert_eq!(series(&text, &b_pid), 3, "{text}");
            a.exit();
            let text = scrape(addr);
            assert_eq!(
                series(&text, &a_pid),
                2,
                "an exited worker keeps its series"
            );
            assert_eq!(series(&text, &b_pid), 3);
            b.kill();
            let text = scrape(addr);
            assert_eq!(series(&text, &b_pid), 3, "a killed one too");
            telemetry.shutdown_with_timeout(T);
            assert!(!dir.join(SOCKET_NAME).exists());
            let _ = fs::remove_dir_all(&dir);
        },
    );
}

// ----- the Prometheus server (as in prometheus_scrape.rs) --------------------------------

/// Where the Prometheus child lives, shared with the watchdog so it can kill it too.
#[derive(Clone, Default)]
struct ChildSlot(Arc<Mutex<Option<Child>>>);

impl ChildSlot {
    fn put(&self, child: Child) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(child);
    }

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
        let dir = temp_dir("prometheus");
        let addr = free_port();
        let config = dir.join("prometheus.yml");
        let text = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: \
             prefork\n    static_configs:\n      - targets: ['{target}']\n"
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
        self.wait_for("target health up", |server| {
            let targets = server.api("/api/v1/targets")?;
            let health = targets["data"]["activeTargets"][0]["health"].as_str()?;
            (health == "up").then_some(())
        });
    }

    fn wait_for_value(&self, query: &str, expected: &str) {
        self.wait_for(&format!("{query} == {expected}"), |server| {
            server.first_value(query).filter(|v| v == expected)
        });
    }

    /// Waits until Prometheus has scraped `n` more times.
    fn wait_scrapes(&self, n: u64) {
        let query = "count_over_time(up{job=\"prefork\"}[1h])";
        let scrapes = |s: &Self| s.first_value(query)?.parse::<u64>().ok();
        let now = self.wait_for("a scrape count", scrapes);
        self.wait_for("more scrapes", |s| scrapes(s).filter(|c| *c >= now + n));
    }

    fn value_of(&self, query: &str) -> String {
        let value = self.first_value(query);
        eprintln!("query {query} -> {value:?}");
        value.unwrap_or_else(|| panic!("no result for {query}"))
    }

    fn first_value(&self, query: &str) -> Option<String> {
        let path = format!("/api/v1/query?query={}", percent_encode(query));
        let result = self.api(&path)?;
        let series = result["data"]["result"].as_array()?;
        series.first()?["value"][1].as_str().map(str::to_owned)
    }

    fn api(&self, path: &str) -> Option<Value> {
        let response = http_get(self.addr, path).ok()?;
        serde_json::from_str(&response.body).ok()
    }

    fn wait_for<R>(&self, what: &str, probe: impl Fn(&Self) -> Option<R>) -> R {
        let deadline = Instant::now() + T;
        loop {
            if let Some(found) = probe(self) {
                return found;
            }
            assert!(!self.child.exited(), "prometheus exited waiting for {what}");
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(100));
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

/// Kills Prometheus and the workers, then aborts, if the scenario outlives [`WATCHDOG`].
fn start_watchdog(slot: ChildSlot, reaper: Reaper) {
    thread::Builder::new()
        .name("prefork-watchdog".to_owned())
        .spawn(move || {
            thread::sleep(WATCHDOG);
            let _ = writeln!(io::stderr(), "watchdog: scenario took over {WATCHDOG:?}");
            slot.kill();
            reaper.kill_all();
            std::process::abort();
        })
        .expect("watchdog thread");
}

/// The Prometheus binary, or `None` (that part skipped) when absent and not required.
fn prometheus_binary() -> Option<PathBuf> {
    let found = match std::env::var_os("INSTRUMENT_PROMETHEUS_BIN") {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join("prometheus"))
            .find(|p| p.is_file()),
    };
    if found.is_none() {
        let required = std::env::var("INSTRUMENT_REQUIRE_RECEIVERS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "INSTRUMENT_REQUIRE_RECEIVERS=1 but prometheus not found"
        );
        eprintln!("prometheus not found: skipping the real-scrape part");
    }
    found
}

fn temp_dir(what: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("instrument-{what}-{}-{nanos}", std::process::id());
    let dir = std::env::temp_dir().join(name);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr")
}

#[derive(Debug)]
struct Response {
    status: u16,
    body: String,
}

/// An HTTP/1.0 GET with timeouts.
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
