//! Fault 5 (issue 9): absurd configuration (a 4e9-record queue, `u64::MAX` milliseconds, huge
//! builder values) is clamped to the documented maxima with one clear warning, never a panic
//! or an abort. Each case runs in its own process (the `probe` below) under a watchdog; its
//! stderr is read for the warning.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use instrument_runtime::instrument;
use instrument_runtime::testing::TestExporter;
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(120);
const CASE_ENV: &str = "FAULTS_CONFIG_CASE";

#[instrument]
fn probed(i: u64) -> u64 {
    i
}

/// Runs one case (named by `FAULTS_CONFIG_CASE`): install with it, record, flush, shut down.
/// Started only by `absurd_configuration_is_clamped_with_one_warning`.
#[test]
#[ignore = "run by absurd_configuration_is_clamped_with_one_warning, one process per case"]
fn probe() {
    let case = std::env::var(CASE_ENV).expect("run by the parent test");
    let (exporter, c) = TestExporter::new();
    let mut builder = instrument_runtime::builder().exporter(exporter);
    builder = match case.as_str() {
        "env" => builder,
        "ring_capacity" => builder.ring_capacity(4_000_000_000),
        "max_batch" => builder.max_batch(usize::MAX),
        "export_interval" => builder.export_interval(Duration::MAX),
        "metrics_interval" => builder.metrics_interval(Duration::MAX),
        "shutdown_timeout" => builder.shutdown_timeout(Duration::MAX),
        "max_value_len" => builder.max_value_len(usize::MAX),
        "exporter_queue" => builder.exporter_queue(usize::MAX),
        other => panic!("unknown case {other}"),
    };
    let telemetry = builder.install().expect("install");
    for i in 0..10 {
        probed(i);
    }
    let report = telemetry.flush(Duration::from_secs(10));
    assert!(report.completed);
    assert_eq!(c.spans_named("probed").len(), 10);
    let report = telemetry.shutdown_with_timeout(Duration::from_secs(10));
    assert!(report.completed);
    println!("PROBE OK");
}

/// `(case, env var, value, text the one warning must contain)`.
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "env",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "4000000000",
        "OTEL_BSP_MAX_QUEUE_SIZE",
    ),
    (
        "env",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "18446744073709551615",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    ),
    (
        "env",
        "OTEL_BSP_SCHEDULE_DELAY",
        "18446744073709551615",
        "OTEL_BSP_SCHEDULE_DELAY",
    ),
    (
        "env",
        "OTEL_METRIC_EXPORT_INTERVAL",
        "18446744073709551615",
        "OTEL_METRIC_EXPORT_INTERVAL",
    ),
    (
        "env",
        "OTEL_BSP_EXPORT_TIMEOUT",
        "18446744073709551615",
        "OTEL_BSP_EXPORT_TIMEOUT",
    ),
    (
        "env",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "4000000000000",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    ),
    ("ring_capacity", "", "", "Builder::ring_capacity"),
    ("max_batch", "", "", "Builder::max_batch"),
    ("export_interval", "", "", "Builder::export_interval"),
    ("metrics_interval", "", "", "Builder::metrics_interval"),
    ("shutdown_timeout", "", "", "Builder::shutdown_timeout"),
    ("max_value_len", "", "", "Builder::max_value_len"),
    ("exporter_queue", "", "", "Builder::exporter_queue"),
];

fn run_case(case: &str, var: &str, value: &str) -> (bool, String, String) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "probe",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CASE_ENV, case)
    .env_remove("INSTRUMENT_TEST_CHILD")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if !var.is_empty() {
        cmd.env(var, value);
    }
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn absurd_configuration_is_clamped_with_one_warning() {
    isolated(
        "absurd_configuration_is_clamped_with_one_warning",
        T,
        || {
            let mut failures = Vec::new();
            for &(case, var, value, names) in CASES {
                let (ok, stdout, stderr) = run_case(case, var, value);
                let warnings: Vec<&str> = stderr
                    .lines()
                    .filter(|l| l.starts_with("instrument-runtime: "))
                    .collect();
                let clear = warnings.len() == 1
                    && warnings[0].contains(names)
                    && warnings[0].contains("maximum");
                println!(
                    "{case} {var}={value}: {} {warnings:?}",
                    if ok { "ok" } else { "FAILED" }
                );
                if !ok || !stdout.contains("PROBE OK") || !clear {
                    failures.push(format!(
                        "{case} {var}={value}: success={ok} warnings={warnings:?}\n{stderr}"
                    ));
                }
            }
            assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
        },
    );
}
