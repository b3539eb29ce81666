//! Pretty mode through the whole pipeline: log records print under their span, in the order
//! they happened, for a local root and for a remote root, even when every record leaves in
//! its own batch; a trace whose root never ends is printed within `pending_timeout` (plus the
//! poll interval) anyway.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use instrument_runtime::export::stdout::{StdoutExporter, StdoutMode};
use instrument_runtime::export::{SignalKind, SinkFilter};
use instrument_runtime::instrument;
use instrument_runtime::propagation::{self, RemoteContext};
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(30);

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[instrument]
fn step(i: u32) {
    log::info!("step {i} begins");
    log::warn!("step {i} ends");
}

#[instrument]
fn request() {
    log::info!("request starts");
    for i in 0..3 {
        step(i);
    }
    log::info!("request done");
}

#[instrument(parent = remote)]
fn from_upstream(remote: Option<RemoteContext>) {
    log::info!("continuing the caller's trace");
    step(7);
}

/// Durations and trace ids vary from run to run: replace them.
fn normalize(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut out = Vec::new();
            for word in line.split(' ') {
                let is_duration = ["ns", "µs", "ms", "s"].iter().any(|u| {
                    word.strip_suffix(u)
                        .is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok())
                });
                if is_duration {
                    out.push("<dur>".to_owned());
                } else if word.ends_with('…') || word.ends_with("…]") {
                    out.push(if word.ends_with(']') { "<id>]" } else { "<id>" }.to_owned());
                } else {
                    out.push(word.to_owned());
                }
            }
            out.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn logs_under_their_spans_whatever_the_batch_boundaries() {
    isolated(
        "logs_under_their_spans_whatever_the_batch_boundaries",
        T,
        || {
            let out = Shared::default();
            let telemetry = instrument_runtime::builder()
                .exporter_filtered(
                    StdoutExporter::with_writer(out.clone(), StdoutMode::Pretty),
                    SinkFilter::all().signals(&[SignalKind::Traces, SignalKind::Logs]),
                )
                .max_batch(1) // every record in its own batch
                .export_interval(Duration::from_millis(5))
                .install()
                .unwrap();
            request();
            // Wait for the local tree (printed when its root arrives), then the remote one.
            let deadline = Instant::now() + Duration::from_secs(5);
            while !out.text().contains("request done") && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let mut headers = HashMap::new();
            headers.insert(
                "traceparent".to_owned(),
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
            );
            from_upstream(propagation::extract(&headers));
            // A remote-rooted trace has no local root span: printed at the flush (or after
            // pending_timeout).
            telemetry.flush(T);
            let expected = "\
request [trace <id>] <dur>
  │ INFO request starts
  ├─ step <dur>
  │    INFO step 0 begins
  │    WARN step 0 ends
  ├─ step <dur>
  │    INFO step 1 begins
  │    WARN step 1 ends
  ├─ step <dur>
  │    INFO step 2 begins
  │    WARN step 2 ends
  │ INFO request done
from_upstream [trace <id>] <dur> (orphan: parent <id> not seen)
  │ INFO continuing the caller's trace
  └─ step <dur>
       INFO step 7 begins
       WARN step 7 ends";
            let got = normalize(&out.text());
            assert_eq!(got.trim_end(), expected, "\n--- got ---\n{}", out.text());
            let r = telemetry.shutdown_with_timeout(T);
            let e = r.stats.exporter("stdout").unwrap();
            assert_eq!((e.spans.exported, e.logs.exported), (6, 11), "{e:?}");
            assert_eq!(e.in_flight(), 0);
        },
    );
}

#[instrument]
fn never_ending_root(release: std::sync::mpsc::Receiver<()>) {
    step(1);
    let _ = release.recv();
}

#[test]
fn a_tree_whose_root_never_ends_is_printed_within_the_pending_timeout() {
    isolated(
        "a_tree_whose_root_never_ends_is_printed_within_the_pending_timeout",
        T,
        || {
            let out = Shared::default();
            let timeout = Duration::from_millis(300);
            let telemetry = instrument_runtime::builder()
                .exporter_filtered(
                    StdoutExporter::with_writer(out.clone(), StdoutMode::Pretty)
                        .pending_timeout(timeout),
                    SinkFilter::all().signals(&[SignalKind::Traces, SignalKind::Logs]),
                )
                .export_interval(Duration::from_millis(10))
                .install()
                .unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            let started = Instant::now();
            let root = std::thread::spawn(move || never_ending_root(rx));
            while !out.text().contains("step 1 ends") && started.elapsed() < Duration::from_secs(5)
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            let took = started.elapsed();
            // pending_timeout + poll interval (100 ms) + the export interval, with slack for a
            // loaded machine.
            assert!(
                out.text().contains("step 1 ends"),
                "not printed: {}",
                out.text()
            );
            assert!(took < timeout + Duration::from_millis(600), "{took:?}");
            // Printed means exported (the stats are published every exporter-thread cycle).
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut e = instrument_runtime::stats()
                .exporter("stdout")
                .unwrap()
                .clone();
            while (e.spans.exported, e.logs.exported) != (1, 2) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
                e = instrument_runtime::stats()
                    .exporter("stdout")
                    .unwrap()
                    .clone();
            }
            assert_eq!((e.spans.exported, e.logs.exported), (1, 2), "{e:?}");
            assert_eq!(
                e.in_flight(),
                0,
                "the root is still open; nothing else waits: {e:?}"
            );
            tx.send(()).unwrap();
            root.join().unwrap();
            drop(telemetry);
        },
    );
}
