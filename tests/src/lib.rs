//! Test harness shared by the end-to-end tests: run a scenario in its own child process under
//! a watchdog, so a deadlock fails the test (the child is killed) instead of hanging CI, and
//! every scenario gets a fresh process-global pipeline.

pub mod alloc;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the scenario a child process must run.
const CHILD_ENV: &str = "INSTRUMENT_TEST_CHILD";

/// Runs `body` in a child process (this test binary, filtered to `test_name`) and fails if the
/// child fails or does not finish within `timeout` (it is killed then).
///
/// Call it as the whole body of a `#[test] fn test_name()`.
pub fn isolated(test_name: &str, timeout: Duration, body: impl FnOnce()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(test_name) {
        body();
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test_name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child test process");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break Some(status);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().expect("child output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match status {
        None => panic!(
            "scenario `{test_name}` did not finish within {timeout:?} (deadlock?); killed.\n\
             --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        ),
        Some(s) if !s.success() => panic!(
            "scenario `{test_name}` failed ({s}).\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        ),
        Some(_) => {
            // The filter must have run exactly our scenario, or the child proved nothing.
            assert!(
                stdout.contains("1 passed"),
                "child did not run `{test_name}`:\n{stdout}\n{stderr}"
            );
        }
    }
}

/// Runs `f` on its own thread and fails if it does not return within `timeout` (a hang fails
/// the test instead of hanging CI). A panic in `f` is re-raised here.
pub fn within<T: Send + 'static>(timeout: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    use std::panic::{self, AssertUnwindSafe};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => panic::resume_unwind(payload),
        Err(_) => panic!("did not return within {timeout:?} (hang)"),
    }
}

/// The README's Rust examples, compiled (and run) as doctests, so the README cannot show an
/// API that does not exist or no longer compiles. A block marked `rust,ignore` is a fragment
/// (statements outside a function, `?` without a `Result`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
