//! Closed descriptors and pipes nobody reads are failures, counted, never panics:
//!
//! - stdout closed (the process closes fd 1; a Rust program started with fd 1 closed gets
//!   `/dev/null` instead) or a pipe with no reader: the stdout exporter's writes fail, the
//!   records count as dropped `export_failed`, never as exported;
//! - pretty mode parks a trace's logs until its root span arrives: they count in flight while
//!   parked, then exported (reader present) or dropped (no reader);
//! - stderr closed or a pipe with no reader: `init()` with bad settings warns through a channel
//!   that cannot panic, and the pipeline runs.
//!
//! Each case is a child process (this binary, re-executed) that writes its results to a file.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use instrument_runtime::export::stdout::StdoutExporter;
use instrument_runtime::{instrument, DropReason};
use instrument_tests::within;

const CHILD: &str = "BROKEN_PIPES_CHILD";
const RESULT: &str = "BROKEN_PIPES_RESULT";

#[instrument]
fn work(i: u64) -> u64 {
    log::info!("work {i}");
    i
}

#[instrument]
fn slow_root() {
    log::info!("parked until the root ends");
    std::thread::sleep(Duration::from_millis(400));
}

fn close_fd(fd: i32) {
    // SAFETY: closing one of our own standard descriptors; nothing holds a borrowed handle.
    unsafe {
        libc::close(fd);
    }
}

/// Replaces `fd` with the write end of a pipe whose read end is closed (done in the child,
/// after the test harness printed its header on the real descriptor).
fn readerless(fd: i32) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    use std::os::fd::AsRawFd;
    // SAFETY: dup2 onto one of our standard descriptors; `writer` stays valid during the call.
    unsafe {
        libc::dup2(writer.as_raw_fd(), fd);
    }
}

fn result(line: String) {
    let path = std::env::var(RESULT).expect("result file");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .expect("result file");
    let _ = writeln!(f, "{line}");
}

/// The child: one scenario, named by `CHILD`.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    match scenario.as_str() {
        "json-closed" | "json-no-reader" => {
            if scenario == "json-closed" {
                close_fd(1);
            } else {
                readerless(1);
            }
            let telemetry = instrument_runtime::builder()
                .exporter(StdoutExporter::json())
                .install()
                .unwrap();
            for i in 0..10 {
                work(i);
            }
            let r = telemetry.shutdown_with_timeout(Duration::from_secs(3));
            let e = r.stats.exporter("stdout").unwrap();
            result(format!(
                "exported={} failed={} inflight={}",
                e.spans.exported + e.logs.exported,
                e.spans.dropped(DropReason::ExportFailed)
                    + e.logs.dropped(DropReason::ExportFailed),
                e.in_flight()
            ));
        }
        "pretty-reader" | "pretty-no-reader" => {
            if scenario == "pretty-no-reader" {
                readerless(1);
            }
            let telemetry = instrument_runtime::builder()
                .exporter(StdoutExporter::pretty())
                .export_interval(Duration::from_millis(20))
                .install()
                .unwrap();
            let t = std::thread::spawn(slow_root);
            // While the root runs, its log is parked in the exporter: in flight, not exported.
            std::thread::sleep(Duration::from_millis(200));
            let during = instrument_runtime::stats();
            let d = during.exporter("stdout").unwrap();
            result(format!(
                "during: logs exported={} inflight={}",
                d.logs.exported, d.logs.in_flight
            ));
            t.join().unwrap();
            let r = telemetry.shutdown_with_timeout(Duration::from_secs(3));
            let e = r.stats.exporter("stdout").unwrap();
            result(format!(
                "after: spans exported={} failed={}; logs exported={} failed={}; inflight={}",
                e.spans.exported,
                e.spans.dropped(DropReason::ExportFailed),
                e.logs.exported,
                e.logs.dropped(DropReason::ExportFailed),
                e.in_flight()
            ));
        }
        "stderr-closed" | "stderr-no-reader" => {
            if scenario == "stderr-closed" {
                close_fd(2);
            } else {
                readerless(2);
            }
            // Bad settings: each is a warning on (the broken) stderr, never a panic; so
            // are the OTLP export failures to the closed port.
            let telemetry = instrument_runtime::init();
            let active = telemetry.is_active();
            work(1);
            let second = instrument_runtime::init(); // refused (already installed): a warning
            let r = telemetry.shutdown_with_timeout(Duration::from_secs(3));
            let otlp = r
                .stats
                .exporter("otlp")
                .map(|e| (e.spans.emitted, e.in_flight()));
            result(format!(
                "active={active} otlp={otlp:?} second_active={}",
                second.is_active()
            ));
        }
        other => panic!("unknown scenario {other}"),
    }
    // The harness would print its summary on the broken descriptor: leave before.
    std::process::exit(0);
}

/// Runs a scenario; `stdout`/`stderr` are what the child gets. Returns the result lines.
fn run(scenario: &str, env: &[(&str, &str)], stdout: Stdio, stderr: Stdio) -> Vec<String> {
    let path = std::env::temp_dir().join(format!(
        "instrument-broken-pipes-{}-{scenario}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, scenario)
        .env(RESULT, &path)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = within(Duration::from_secs(60), move || {
        cmd.status().expect("run child")
    });
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    assert!(
        status.success(),
        "child {scenario} failed ({status}): {text}"
    );
    // (the child leaves with exit(0) right after writing its results)
    text.lines().map(str::to_owned).collect()
}

#[test]
fn closed_stdout_is_a_counted_failure() {
    let lines = run("json-closed", &[], Stdio::inherit(), Stdio::null());
    assert_eq!(lines, vec!["exported=0 failed=20 inflight=0"]);
}

#[test]
fn stdout_pipe_without_reader_is_a_counted_failure() {
    let lines = run("json-no-reader", &[], Stdio::null(), Stdio::null());
    assert_eq!(lines, vec!["exported=0 failed=20 inflight=0"]);
}

#[test]
fn pretty_parked_logs_count_exported_when_written() {
    let lines = run("pretty-reader", &[], Stdio::piped(), Stdio::null());
    assert_eq!(
        lines,
        vec![
            "during: logs exported=0 inflight=1",
            "after: spans exported=1 failed=0; logs exported=1 failed=0; inflight=0",
        ]
    );
}

#[test]
fn pretty_parked_logs_count_failed_when_the_write_fails() {
    let lines = run("pretty-no-reader", &[], Stdio::null(), Stdio::null());
    assert_eq!(
        lines,
        vec![
            "during: logs exported=0 inflight=1",
            "after: spans exported=0 failed=1; logs exported=0 failed=1; inflight=0",
        ]
    );
}

const BAD_SETTINGS: [(&str, &str); 7] = [
    ("OTEL_TRACES_EXPORTER", "otlp,zipkin"),
    ("OTEL_LOGS_EXPORTER", "none"),
    ("OTEL_METRICS_EXPORTER", "prometheus"),
    ("INSTRUMENT_PROMETHEUS_ADDR", "not an address"),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
    ("OTEL_BSP_SCHEDULE_DELAY", "-1"),
];

#[test]
fn closed_stderr_never_panics_init() {
    let lines = run(
        "stderr-closed",
        &BAD_SETTINGS,
        Stdio::null(),
        Stdio::inherit(),
    );
    assert_eq!(
        lines,
        vec!["active=true otlp=Some((1, 0)) second_active=false"]
    );
}

#[test]
fn stderr_pipe_without_reader_never_panics_init() {
    let lines = run(
        "stderr-no-reader",
        &BAD_SETTINGS,
        Stdio::null(),
        Stdio::null(),
    );
    assert_eq!(
        lines,
        vec!["active=true otlp=Some((1, 0)) second_active=false"]
    );
}
