//! Same-named methods of one module (`UserRepo::get`, `OrderRepo::get`, and a trait method
//! `get`) export one series each through the Prometheus exporter, with exact counts and no two
//! samples sharing a label set, and `promtool check metrics` accepts the exposition (issue 10).
//!
//! `promtool` comes from `INSTRUMENT_PROMTOOL_BIN`, else `PATH`; without it that check is
//! skipped, unless `INSTRUMENT_REQUIRE_RECEIVERS=1`, where it fails.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use instrument_runtime::export::prometheus::PrometheusExporter;
use instrument_runtime::instrument;

struct UserRepo;
struct OrderRepo;

trait Repo {
    fn get(&self) -> u32;
}

impl UserRepo {
    #[instrument]
    fn get(&self) -> u32 {
        1
    }
}

impl OrderRepo {
    #[instrument]
    fn get(&self) -> u32 {
        2
    }
}

impl Repo for UserRepo {
    #[instrument]
    fn get(&self) -> u32 {
        3
    }
}

#[test]
fn same_named_methods_are_separate_prometheus_series() {
    let exporter = PrometheusExporter::new();
    let handle = exporter.handle();
    let telemetry = instrument_runtime::builder()
        .exporter(exporter)
        .install()
        .expect("install");
    for _ in 0..3 {
        UserRepo.get();
    }
    for _ in 0..5 {
        OrderRepo.get();
    }
    for _ in 0..7 {
        Repo::get(&UserRepo);
    }
    assert!(telemetry.flush(Duration::from_secs(30)).completed);
    let text = handle.render();
    let module = module_path!();
    for (function, count) in [
        ("UserRepo::get", 3),
        ("OrderRepo::get", 5),
        ("<UserRepo as Repo>::get", 7),
    ] {
        let line = format!(
            "function_calls_total{{function=\"{function}\",module=\"{module}\",result=\"ok\"}} \
             {count}"
        );
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    // No sample is exported twice with one label set.
    let mut seen = HashSet::new();
    for sample in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let series = sample.rsplit_once(' ').map_or(sample, |(s, _)| s);
        assert!(seen.insert(series), "two samples for {series}:\n{text}");
    }
    check_with_promtool(&text);
}

fn check_with_promtool(exposition: &str) {
    let Some(promtool) = promtool() else {
        let required = std::env::var("INSTRUMENT_REQUIRE_RECEIVERS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "INSTRUMENT_REQUIRE_RECEIVERS=1 but promtool not found"
        );
        return;
    };
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
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool: {said}");
    assert_eq!(said.trim(), "", "promtool lint output");
}

fn promtool() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("INSTRUMENT_PROMTOOL_BIN") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("promtool"))
        .find(|p| p.is_file())
}
