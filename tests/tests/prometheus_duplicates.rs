//! Never two samples with one label set: two methods named `new` in one module render the same
//! `function`/`module`/`result` labels; the exposition has one series with both callsites'
//! calls, and `promtool check metrics` accepts it.

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
fn two_callsites_with_one_label_set_are_one_series() {
    isolated(
        "two_callsites_with_one_label_set_are_one_series",
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
            let calls: Vec<&str> = text
                .lines()
                .filter(|l| {
                    l.starts_with("function_calls_total{") && l.contains("function=\"new\"")
                })
                .collect();
            assert_eq!(calls.len(), 1, "one series for both `new`s: {text}");
            assert!(calls[0].ends_with(" 7"), "3 + 4 calls: {}", calls[0]);
            let count: Vec<&str> = text
                .lines()
                .filter(|l| {
                    l.starts_with("function_calls_duration_seconds_count{")
                        && l.contains("function=\"new\"")
                })
                .collect();
            assert_eq!(count.len(), 1, "{text}");
            assert!(count[0].ends_with(" 7"), "{}", count[0]);
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
