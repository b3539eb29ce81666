//! A scrape sees the calls made just before it, not the snapshot of the last metrics interval
//! (issue 14, "Prometheus freshness"): with a 60 s interval, the endpoint and
//! `PrometheusHandle::render_fresh` serve exact counts at once (within the bounded wait
//! `FRESH_WAIT`), and the pipeline's other exporters keep their own interval (a scrape
//! gives them no snapshot).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use instrument_runtime::export::prometheus::{PrometheusExporter, FRESH_WAIT};
use instrument_runtime::export::testing::TestExporter;
use instrument_runtime::instrument;
use instrument_tests::within;

#[instrument]
fn fresh_checkout(n: u32) -> u32 {
    n + 1
}

/// `GET /metrics` over HTTP/1.1 (the server closes the connection after answering); returns
/// how long it took and the body.
fn scrape(addr: SocketAddr) -> (Duration, String) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let elapsed = started.elapsed();
    assert!(response.starts_with("HTTP/1.1 200"), "response: {response}");
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (elapsed, body)
}

/// The value of `function_calls_total` for `fresh_checkout` in an exposition (`None` if the
/// series is absent).
fn calls(text: &str) -> Option<u64> {
    let series = format!(
        "function_calls_total{{function=\"fresh_checkout\",module=\"{}\",result=\"ok\"}} ",
        module_path!()
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map(|v| v.trim().parse().expect("a count"))
}

#[test]
fn scrapes_serve_the_calls_made_before_them() {
    within(Duration::from_secs(60), || {
        let exporter = PrometheusExporter::serve(([127, 0, 0, 1], 0)).expect("bind 127.0.0.1:0");
        let addr = exporter.local_addr().expect("endpoint address");
        let handle = exporter.handle();
        let (other, collected) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .metrics_interval(Duration::from_secs(60))
            .exporter(exporter)
            .exporter(other)
            .install()
            .expect("install");
        // The bounded wait, plus room for a loaded machine (the scrape itself is local).
        let bound = FRESH_WAIT + Duration::from_millis(750);

        for i in 0..7 {
            fresh_checkout(i);
        }
        let (took, body) = scrape(addr);
        assert_eq!(calls(&body), Some(7), "first scrape ({took:?}):\n{body}");
        assert!(took < bound, "first scrape took {took:?}");

        for i in 0..5 {
            fresh_checkout(i);
        }
        let (took, body) = scrape(addr);
        assert_eq!(calls(&body), Some(12), "second scrape ({took:?}):\n{body}");
        assert!(took < bound, "second scrape took {took:?}");

        // The handle (for an application's own `/metrics` route) is fresh too.
        for i in 0..3 {
            fresh_checkout(i);
        }
        let started = Instant::now();
        let text = handle.render_fresh(FRESH_WAIT * 4);
        let took = started.elapsed();
        assert_eq!(calls(&text), Some(15), "render_fresh ({took:?}):\n{text}");
        // The plain render serves that snapshot, without asking for another.
        assert_eq!(calls(&handle.render()), Some(15));

        // The other exporter keeps its 60 s interval: the scrapes gave it no snapshot.
        assert!(
            collected.metrics().is_none(),
            "a scrape sent a metrics snapshot to another exporter"
        );

        assert!(telemetry.flush(Duration::from_secs(30)).completed);
        // A flush exports metrics to every exporter.
        let snapshot = collected.metrics().expect("metrics after flush");
        assert!(!snapshot.metrics.is_empty());
        telemetry.shutdown_with_timeout(Duration::from_secs(30));
    });
}
