//! Resource detection across fork: a pre-fork server's parent and forked child export to the
//! real receiver with different `service.instance.id` and `process.pid` (the child's are its
//! own), the same `host.name`, and `OTEL_RESOURCE_ATTRIBUTES` on both.
#![cfg(unix)]

mod otlp_support;

use std::time::Duration;

use instrument_runtime::export::otlp::OtlpExporter;
use instrument_runtime::instrument;
use instrument_tests::isolated;
use otlp_support::{receiver_python, requests, resource_attribute, spans, Receiver};

const T: Duration = Duration::from_secs(60);

#[instrument]
fn fork_work(i: u64) -> u64 {
    i + 7
}

fn wait_child(pid: libc::pid_t, timeout: Duration) -> i32 {
    let started = std::time::Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -1
            };
        }
        if started.elapsed() > timeout {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("forked child did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_forked_child_is_a_new_service_instance() {
    isolated("a_forked_child_is_a_new_service_instance", T, || {
        let Some(python) = receiver_python() else {
            return;
        };
        std::env::set_var(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=fork-test",
        );
        let receiver = Receiver::start(&python, &[]);
        let endpoint = receiver.endpoint(instrument_runtime::export::otlp::Protocol::HttpProtobuf);
        let telemetry = instrument_runtime::builder()
            .exporter_factory(move || {
                OtlpExporter::builder()
                    .endpoint(endpoint.clone())
                    .build()
                    .unwrap()
            })
            .install()
            .unwrap();
        fork_work(1);
        assert!(telemetry.flush(T).completed);
        // SAFETY: the child runs only this test's Rust code (with a fresh exporter thread) and
        // leaves through _exit, never returning into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            fork_work(2);
            let ok = instrument_runtime::flush(T).completed;
            // SAFETY: leave the child without running the harness' exit path.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        assert_eq!(
            wait_child(pid, Duration::from_secs(30)),
            0,
            "the child flushed"
        );
        fork_work(3);
        assert!(telemetry.flush(T).completed);
        let lines = receiver.wait_for(Duration::from_secs(20), |l| spans(l).len() >= 3);
        let traces = requests(&lines, "traces");
        let attr = |line: &serde_json::Value, key: &str| {
            resource_attribute(line, key)
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        let by_pid = |pid: u32| -> Vec<&serde_json::Value> {
            traces
                .iter()
                .copied()
                .filter(|l| attr(l, "process.pid") == format!("{{\"intValue\":\"{pid}\"}}"))
                .collect()
        };
        let parent = by_pid(std::process::id());
        let child = by_pid(pid as u32);
        assert!(parent.len() >= 2 && !child.is_empty(), "{lines:?}");
        let parent_id = attr(parent[0], "service.instance.id");
        assert!(!parent_id.is_empty());
        assert!(parent
            .iter()
            .all(|l| attr(l, "service.instance.id") == parent_id));
        assert_ne!(
            attr(child[0], "service.instance.id"),
            parent_id,
            "the child is a new instance"
        );
        assert_eq!(attr(child[0], "host.name"), attr(parent[0], "host.name"));
        for line in parent.iter().chain(&child) {
            assert_eq!(
                attr(line, "deployment.environment"),
                "{\"stringValue\":\"fork-test\"}",
                "{line}"
            );
        }
    });
}
