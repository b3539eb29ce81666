//! A new user's first command: the README's `cargo run --example quickstart`, run exactly as
//! written from the workspace root of a fresh clone of this repository (cargo then unifies
//! features across the workspace, so the OTLP and Prometheus exporters are compiled in).
//!
//! It must print spans, log records whose `trace_id` is a span's, and the call metrics; say
//! nothing failure-like on stderr; start no exporter but stdout (so no port, no collector);
//! and end with a true report (in flight 0, every record exported).
//!
//! The clone is of the committed HEAD (`git clone <this checkout>`). The build reuses this
//! checkout's target directory (`CARGO_TARGET_DIR`) to stay fast.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use instrument_tests::within;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `target/` of this checkout: the test binary is `target/<profile>/deps/first_run-*`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

#[test]
fn readme_first_command_from_a_fresh_clone() {
    let out = within(Duration::from_secs(600), || {
        let tmp = std::env::temp_dir().join(format!("instrument-first-run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let clone = Command::new("git")
            .args(["clone", "--quiet", "--no-hardlinks"])
            .arg(workspace_root())
            .arg(&tmp)
            .output()
            .expect("run git clone");
        assert!(
            clone.status.success(),
            "git clone failed: {}",
            String::from_utf8_lossy(&clone.stderr)
        );
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Exactly the README's command, from the clone's root, with a clean environment as far
        // as exporter configuration goes.
        let mut cmd = Command::new(cargo);
        cmd.args(["run", "--example", "quickstart"])
            .current_dir(&tmp)
            .env("CARGO_TARGET_DIR", target_dir());
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("OTEL_") || k.starts_with("INSTRUMENT_") {
                cmd.env_remove(&k);
            }
        }
        let out = cmd.output().expect("run cargo");
        let _ = std::fs::remove_dir_all(&tmp);
        out
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {}\n{stderr}", out.status);

    // Nothing failure-like on stderr: only cargo's progress lines and the final report.
    for line in stderr.lines() {
        let l = line.trim_start();
        let cargo_progress = [
            "Compiling",
            "Finished",
            "Running",
            "Blocking",
            "Locking",
            "Updating",
            "Downloaded",
            "Downloading",
        ]
        .iter()
        .any(|p| l.starts_with(p));
        let report = l.starts_with("stdout: ");
        assert!(
            cargo_progress || report,
            "unexpected stderr line: {line:?}\n{stderr}"
        );
    }
    let lower = stderr.to_lowercase();
    for bad in [
        "error",
        "failed",
        "warning",
        "panicked",
        "instrument-runtime:",
    ] {
        assert!(!lower.contains(bad), "stderr mentions {bad:?}:\n{stderr}");
    }

    // The report: one exporter (stdout), every record exported, none in flight. The numbers
    // are the quickstart's: 2 handle + 2 place_order + 4 reserve spans; 2 + 4 + 1 + 1 logs
    // (the umbrella error is logged by `err`).
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("stdout: "))
        .collect();
    assert_eq!(reports.len(), 1, "exactly one exporter ran:\n{stderr}");
    assert!(
        reports[0].contains("16 records (8 spans, 8 logs): exported 16, dropped 0, in flight 0"),
        "{}",
        reports[0]
    );

    // stdout: JSON lines only.
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let kind = |k: &'static str| lines.iter().filter(move |v| v["kind"] == k);
    let spans: Vec<_> = kind("span").collect();
    let logs: Vec<_> = kind("log").collect();
    assert_eq!(spans.len(), 8, "{stdout}");
    assert_eq!(logs.len(), 8, "{stdout}");
    let traces: HashSet<&str> = spans
        .iter()
        .filter_map(|s| s["trace_id"].as_str())
        .collect();
    let span_ids: HashSet<&str> = spans.iter().filter_map(|s| s["span_id"].as_str()).collect();
    let traced: Vec<_> = logs.iter().filter(|l| !l["trace_id"].is_null()).collect();
    assert_eq!(
        traced.len(),
        7,
        "every log inside a span carries its trace id"
    );
    for l in &traced {
        assert!(traces.contains(l["trace_id"].as_str().unwrap()), "{l}");
        assert!(span_ids.contains(l["span_id"].as_str().unwrap()), "{l}");
    }
    // The call metrics: reserve was called 4 times (3 ok, 1 error).
    let calls = |function: &str, result: &str| {
        kind("metric")
            .filter(|m| {
                m["name"] == "function_calls_total"
                    && m["labels"]["function"] == function
                    && m["labels"]["result"] == result
            })
            .map(|m| m["value"].as_u64().unwrap())
            .next_back()
    };
    assert_eq!(calls("reserve", "ok"), Some(3), "{stdout}");
    assert_eq!(calls("reserve", "error"), Some(1), "{stdout}");
    assert_eq!(calls("handle", "ok"), Some(2), "{stdout}");
    assert!(kind("metric").any(|m| m["name"] == "function_calls_duration_seconds"));
}
