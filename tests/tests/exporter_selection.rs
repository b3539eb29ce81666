//! `OTEL_TRACES_EXPORTER` / `OTEL_LOGS_EXPORTER` / `OTEL_METRICS_EXPORTER` choose among the
//! compiled-in exporters (this test crate compiles stdout, OTLP and Prometheus in); with
//! nothing configured only stdout runs; a bad value is one clear line on stderr.
//!
//! Each case runs `init()` in a child process (this binary, re-executed) with its own
//! environment; the child reports the exporters it started and what each took.

use std::process::{Command, Stdio};
use std::time::Duration;

use instrument_runtime::instrument;
use instrument_tests::within;

const CHILD: &str = "EXPORTER_SELECTION_CHILD";

#[instrument]
fn work() {
    log::info!("inside");
}

/// Child side: init from the environment, make 1 span + 1 log, shut down, print
/// `EXPORTERS name:spans_emitted-spans_filtered/logs_emitted-logs_filtered,...` on stderr.
#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let telemetry = instrument_runtime::init();
    work();
    let report = telemetry.shutdown_with_timeout(Duration::from_secs(3));
    let f = instrument_runtime::DropReason::Filtered;
    let list: Vec<String> = report
        .stats
        .exporters
        .iter()
        .map(|e| {
            format!(
                "{}:{}/{}",
                e.name,
                e.spans.emitted - e.spans.dropped(f),
                e.logs.emitted - e.logs.dropped(f)
            )
        })
        .collect();
    eprintln!("EXPORTERS {}", list.join(","));
}

/// Runs the child with `env` (and no other OTEL_/INSTRUMENT_ variable); returns its stderr.
fn run(env: &[(&str, &str)]) -> String {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    within(Duration::from_secs(60), move || {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("OTEL_") || k.starts_with("INSTRUMENT_") {
                cmd.env_remove(&k);
            }
        }
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run child");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "child failed:\n{stderr}");
        stderr
    })
}

fn exporters(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("EXPORTERS "))
        .unwrap_or_else(|| panic!("no EXPORTERS line:\n{stderr}"))
        .to_owned()
}

fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("instrument-runtime: "))
        .collect()
}

#[test]
fn nothing_configured_means_stdout_only() {
    let err = run(&[]);
    assert_eq!(exporters(&err), "stdout:1/1");
    assert!(warnings(&err).is_empty(), "{err}");
}

#[test]
fn an_otlp_endpoint_selects_otlp_instead_of_stdout() {
    // A closed port: the export fails (counted), but only for OTLP.
    let err = run(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")]);
    assert_eq!(exporters(&err), "otlp:1/1");
}

#[test]
fn per_signal_lists_and_none() {
    let err = run(&[
        ("OTEL_TRACES_EXPORTER", "console,otlp"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("INSTRUMENT_PROMETHEUS_ADDR", "127.0.0.1:0"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
    ]);
    // otlp: spans only; stdout: spans only; prometheus: metrics only (no records).
    assert_eq!(exporters(&err), "otlp:1/0,stdout:1/0,prometheus:0/0");
    // Only the (expected) delivery failure of OTLP to the closed port; no configuration line.
    let w = warnings(&err);
    assert!(
        w.iter()
            .all(|l| l.starts_with("instrument-runtime: exporter \"otlp\"")),
        "{err}"
    );
}

#[test]
fn prometheus_runs_only_when_configured() {
    let err = run(&[("INSTRUMENT_PROMETHEUS_ADDR", "127.0.0.1:0")]);
    assert_eq!(exporters(&err), "stdout:1/1,prometheus:0/0");
}

#[test]
fn unknown_and_misplaced_values_are_one_line_each() {
    let err = run(&[
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("OTEL_LOGS_EXPORTER", "prometheus"),
    ]);
    assert_eq!(exporters(&err), "stdout:1/1");
    let w = warnings(&err);
    assert_eq!(
        w,
        vec![
            "instrument-runtime: OTEL_TRACES_EXPORTER: unknown exporter \"zipkin\" (expected \
             otlp, console, prometheus or none); ignored",
            "instrument-runtime: OTEL_TRACES_EXPORTER=\"zipkin\" names no usable exporter; \
             using the default for this signal",
            "instrument-runtime: OTEL_LOGS_EXPORTER: the prometheus exporter only takes \
             metrics; ignored",
            "instrument-runtime: OTEL_LOGS_EXPORTER=\"prometheus\" names no usable exporter; \
             using the default for this signal",
        ],
        "{err}"
    );
}
