//! Pre-fork servers: after `fork`, the child exports its own telemetry through a fresh exporter
//! thread, never re-exports the parent's buffered records, never double counts the parent's
//! metrics, and never makes the parent's trace ids.
#![cfg(unix)]

use std::io::{Read, Write};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use instrument_runtime::testing::{Collected, TestExporter};
use instrument_runtime::{current_span_context, instrument};
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(30);

/// Every exporter the factory made in this process (the child's factory call lands here too).
fn made() -> &'static Mutex<Vec<Collected>> {
    static MADE: OnceLock<Mutex<Vec<Collected>>> = OnceLock::new();
    MADE.get_or_init(|| Mutex::new(Vec::new()))
}

fn latest() -> Collected {
    made()
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("an exporter was made")
}

#[instrument]
fn work(i: u64) -> String {
    log::info!("work {i}");
    current_span_context().unwrap().trace_id.to_string()
}

/// Waits for `pid` with a deadline; kills it if it does not exit.
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

/// The child's side: runs, checks, and reports its trace ids through the pipe.
fn child(write_fd: libc::c_int, parent_before: &[String]) -> i32 {
    let result = std::panic::catch_unwind(|| {
        let mine: Vec<String> = (100..103).map(work).collect();
        let report = instrument_runtime::flush(T);
        assert!(report.completed, "the child's pipeline runs: {report:?}");
        let c = latest();
        assert_eq!(
            made().lock().unwrap().len(),
            2,
            "the child made its own exporter"
        );
        let spans = c.spans_named("work");
        assert_eq!(
            spans.len(),
            3,
            "only the child's spans, none of the parent's buffered ones"
        );
        assert_eq!(c.logs().len(), 3);
        assert_eq!(
            c.call_count("work", "ok"),
            3,
            "the parent's calls are not counted again"
        );
        assert_eq!(report.stats.spans.emitted, 3);
        for id in &mine {
            assert!(!parent_before.contains(id));
        }
        mine
    });
    match result {
        Ok(mine) => {
            let text = mine.join("\n");
            // SAFETY: writing our own buffer to a pipe fd we own.
            unsafe { libc::write(write_fd, text.as_ptr().cast(), text.len()) };
            0
        }
        Err(_) => 1,
    }
}

#[test]
fn forked_child_exports_its_own_telemetry() {
    isolated("forked_child_exports_its_own_telemetry", T, || {
        let telemetry = instrument_runtime::builder()
            .exporter_factory(|| {
                let (exporter, collected) = TestExporter::new();
                made().lock().unwrap().push(collected);
                exporter
            })
            .export_interval(Duration::from_secs(3600)) // keep records buffered at the fork
            .install()
            .unwrap();
        let before: Vec<String> = (0..10).map(work).collect();
        let mut fds = [0; 2];
        // SAFETY: a valid array for pipe(2).
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        std::io::stdout().flush().unwrap();
        // SAFETY: the child only runs Rust code of this test (with a fresh exporter thread) and
        // leaves through _exit, never returning into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: closing the read end we do not use.
            unsafe { libc::close(fds[0]) };
            let code = child(fds[1], &before);
            // SAFETY: leave the child without running the harness' exit path.
            unsafe { libc::_exit(code) };
        }
        // SAFETY: closing the write end we do not use.
        unsafe { libc::close(fds[1]) };
        let after: Vec<String> = (10..13).map(work).collect();
        assert_eq!(
            wait_child(pid, Duration::from_secs(20)),
            0,
            "child checks failed"
        );
        let mut text = String::new();
        // SAFETY: fds[0] is our read end; File takes ownership and closes it.
        let mut file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
        file.read_to_string(&mut text).unwrap();
        let child_ids: Vec<&str> = text.lines().collect();
        assert_eq!(child_ids.len(), 3);
        for id in &child_ids {
            assert!(
                !after.iter().any(|a| a == id),
                "child repeated the parent's trace id {id}"
            );
        }
        // The parent is unaffected: all 13 of its records, and nothing of the child's.
        let report = telemetry.flush(T);
        assert!(report.completed);
        let c = made().lock().unwrap()[0].clone();
        assert_eq!(c.spans_named("work").len(), 13);
        assert_eq!(c.call_count("work", "ok"), 13);
    });
}
