//! Never two samples with one label set: two methods named `new` in one module are two series
//! (`Cart::new`, `Order::new`) with exact counts, each rendered once, and `promtool check
//! metrics` accepts the exposition.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use instrument_runtime::export::prometheus::PrometheusExporter;
use instrument_runtime::instrument;
use instrument_tests::{isolated, within};

struct Cart;
struct Order;

impl Cart {
    #[instrument]
    fn new() -> Cart {
        Cart
    }
}

impl Order {
    #[instrument]
    fn new() -> Order {
        Order
    }
}

fn promtool() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("INSTRUMENT_PROMTOOL_BIN") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join("promtool"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("INSTRUMENT_REQUIRE_RECEIVERS").as_deref() != Ok("1"),
            "promtool missing and INSTRUMENT_REQUIRE_RECEIVERS=1"
        );
        eprintln!("skipping: promtool not found (ci/setup_prometheus.sh)");
    }
    found
}

#[test]
fn two_methods_named_new_are_two_exact_series() {
    isolated(
        "two_methods_named_new_are_two_exact_series",
        Duration::from_secs(60),
        || {
            let Some(promtool) = promtool() else {
                return;
            };
            let exporter = PrometheusExporter::new();
            let handle = exporter.handle();
            let telemetry = instrument_runtime::builder()
                .exporter(exporter)
                .install()
                .unwrap();
            for _ in 0..3 {
                let _ = Cart::new();
            }
            for _ in 0..4 {
                let _ = Order::new();
            }
            let report = within(Duration::from_secs(30), move || {
                telemetry.flush(Duration::from_secs(20))
            });
            assert!(report.completed);
            let text = handle.render();
            // Methods are qualified by their impl's type (issue 10), so the two `new`s are two
            // series with exact counts, each rendered once; the exporter's merge of equal label
            // sets (the safety net for callsites that still collide) is unit-tested in
            // export/prometheus/render.rs.
            for (function, calls) in [("Cart::new", 3), ("Order::new", 4)] {
                let label = format!("function=\"{function}\"");
                for family in [
                    "function_calls_total{",
                    "function_calls_duration_seconds_count{",
                ] {
                    let lines: Vec<&str> = text
                        .lines()
                        .filter(|l| l.starts_with(family) && l.contains(&label))
                        .collect();
                    assert_eq!(lines.len(), 1, "one {family} series for {function}: {text}");
                    assert!(
                        lines[0].ends_with(&format!(" {calls}")),
                        "{calls} calls: {}",
                        lines[0]
                    );
                }
            }
            let mut child = Command::new(promtool)
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run promtool");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let output = child.wait_with_output().unwrap();
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(output.status.success(), "promtool: {said}\n{text}");
            assert!(!said.contains("duplicate"), "promtool: {said}");
        },
    );
}
