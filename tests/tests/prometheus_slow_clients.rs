//! Slow and idle clients do not delay a scrape: two clients sending their request a byte a
//! second (the measurement made a normal scrape take 9.9 s) while normal scrapes are
//! timed; each must answer within tens of milliseconds, and the slow clients are cut off.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use instrument_runtime::export::prometheus::PrometheusExporter;
use instrument_runtime::export::{CounterPoint, Metric, MetricData, MetricsSnapshot};
use instrument_runtime::{Batch, Exporter};
use instrument_tests::within;

fn scrape(addr: SocketAddr) -> (Duration, String) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    (started.elapsed(), response)
}

/// Sends `GET /metrics ...` one byte a second until the server closes the connection;
/// returns how long the connection lived.
fn byte_a_second(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    for byte in b"GET /metrics HTTP/1.1\r\n\r\n" {
        if stream.write_all(&[*byte]).is_err() {
            break;
        }
        thread::sleep(Duration::from_secs(1));
        let _ = stream.set_nonblocking(true);
        let mut probe = [0u8; 1];
        // Closed by the server: read returns 0.
        if matches!(stream.read(&mut probe), Ok(0)) {
            break;
        }
        let _ = stream.set_nonblocking(false);
    }
    started.elapsed()
}

#[test]
fn two_byte_a_second_clients_delay_no_scrape() {
    within(Duration::from_secs(60), || {
        let mut exporter = PrometheusExporter::serve(([127, 0, 0, 1], 0)).unwrap();
        let addr = exporter.local_addr().unwrap();
        exporter
            .export(&Batch {
                metrics: Some(MetricsSnapshot {
                    metrics: vec![Metric {
                        name: "function_calls_total".into(),
                        description: "calls".into(),
                        unit: "1".into(),
                        data: MetricData::Counter(vec![CounterPoint {
                            labels: vec![(Cow::Borrowed("function"), Cow::Borrowed("f"))],
                            value: 5,
                        }]),
                    }],
                    ..MetricsSnapshot::default()
                }),
                ..Batch::default()
            })
            .unwrap();
        let slow: Vec<_> = (0..2)
            .map(|_| thread::spawn(move || byte_a_second(addr)))
            .collect();
        thread::sleep(Duration::from_millis(100));
        let mut latencies = Vec::new();
        for _ in 0..20 {
            let (took, response) = scrape(addr);
            assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
            assert!(
                response.contains("function_calls_total{function=\"f\"} 5"),
                "{response}"
            );
            latencies.push(took);
            thread::sleep(Duration::from_millis(50));
        }
        latencies.sort();
        let (median, worst) = (
            latencies[latencies.len() / 2],
            latencies[latencies.len() - 1],
        );
        eprintln!("scrape latency with 2 slow clients: median {median:?}, worst {worst:?}");
        assert!(median < Duration::from_millis(20), "median {median:?}");
        assert!(worst < Duration::from_millis(80), "worst {worst:?}");
        for handle in slow {
            let lived = handle.join().unwrap();
            assert!(
                lived < Duration::from_secs(4),
                "a slow client was kept {lived:?}"
            );
        }
    });
}
