//! The running pipeline: [`init`], the [`Telemetry`] guard, and the free functions that talk to
//! the exporter thread ([`flush`], [`stats`], [`set_exporter`]).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use std::sync::Arc;

use super::recipe::RECIPE;
use super::{SwapError, CURRENT, INSTALLED};
use crate::buffer::registry;
use crate::collector::thread::{Command, SinkSpec};
use crate::config;
use crate::export::{Exporter, SinkFilter};
use crate::stats::{FlushReport, Stats};
use crate::switches::{self, SAMPLER};

/// The running pipeline. Dropping it flushes and shuts down, within the configured deadline.
#[must_use = "dropping the guard shuts the pipeline down"]
#[derive(Debug)]
pub struct Telemetry {
    active: bool,
    shutdown_timeout: Duration,
}

impl Telemetry {
    /// The guard of a pipeline that was not started (disabled, or init failed).
    pub(super) fn inactive() -> Self {
        Telemetry {
            active: false,
            shutdown_timeout: Duration::ZERO,
        }
    }

    /// The guard of a pipeline just started; dropping it shuts down within `shutdown_timeout`.
    pub(super) fn running(shutdown_timeout: Duration) -> Self {
        Telemetry {
            active: true,
            shutdown_timeout,
        }
    }

    /// `true` if this guard controls a running pipeline.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Exports everything buffered so far; returns within `timeout`, whatever the exporter
    /// does. See [`flush`].
    pub fn flush(&self, timeout: Duration) -> FlushReport {
        flush(timeout)
    }

    /// Accounting as of the exporter thread's last cycle.
    pub fn stats(&self) -> Stats {
        stats()
    }

    /// Replaces the exporter at run time. See [`set_exporter`].
    pub fn set_exporter(
        &self,
        exporter: impl Exporter,
        timeout: Duration,
    ) -> Result<(), SwapError> {
        set_exporter(exporter, timeout)
    }

    /// [`flush`](Telemetry::flush) for async code; see [`flush_async`].
    pub fn flush_async(&self, timeout: Duration) -> impl std::future::Future<Output = FlushReport> {
        flush_async(timeout)
    }

    /// [`shutdown`](Telemetry::shutdown) for async code: the wait happens on a helper thread,
    /// so no runtime thread is blocked. Same deadline as `shutdown`.
    pub fn shutdown_async(self) -> impl std::future::Future<Output = FlushReport> {
        let timeout = self.shutdown_timeout;
        self.shutdown_with_timeout_async(timeout)
    }

    /// [`shutdown_with_timeout`](Telemetry::shutdown_with_timeout) for async code.
    pub fn shutdown_with_timeout_async(
        mut self,
        timeout: Duration,
    ) -> impl std::future::Future<Output = FlushReport> {
        if !self.active || crate::local::is_exporter_thread() {
            return OffThread::ready(self.stop(timeout));
        }
        OffThread::spawn(move || self.stop(timeout), FlushReport::default())
    }

    /// Flushes and stops the pipeline with the configured deadline.
    pub fn shutdown(mut self) -> FlushReport {
        let timeout = self.shutdown_timeout;
        self.stop(timeout)
    }

    /// Flushes and stops the pipeline, returning within `timeout`.
    pub fn shutdown_with_timeout(mut self, timeout: Duration) -> FlushReport {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: Duration) -> FlushReport {
        if !std::mem::replace(&mut self.active, false) {
            return FlushReport::default();
        }
        switches::restart_if_pending();
        let started = Instant::now();
        // Stop sampling first: no new span records; logs from now on are counted as dropped
        // (after shutdown) once the exporter thread has taken its last look.
        SAMPLER.set_ratio(0.0);
        switches::set_active(false);
        let handle = CURRENT.swap(None);
        let report = match &handle {
            Some(h) if !crate::local::is_exporter_thread() => h
                .request(Command::Shutdown, timeout)
                .unwrap_or_else(|| FlushReport::timed_out(h.stats(), started.elapsed())),
            _ => FlushReport::timed_out(Stats::default(), started.elapsed()),
        };
        registry::set_exporter_thread(None);
        *RECIPE.lock().unwrap_or_else(|p| p.into_inner()) = None;
        // A timed-out exporter thread is detached; a new pipeline takes over every ring and
        // metric shard and counts what the detached thread still holds (buffer/registry.rs).
        INSTALLED.store(false, Ordering::Release);
        report
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        let timeout = self.shutdown_timeout;
        let report = self.stop(timeout);
        if self.shutdown_timeout > Duration::ZERO
            && !report.completed
            && report.elapsed > Duration::ZERO
        {
            config::warn_once(format!(
                "shutdown did not complete within {timeout:?}; {} records were not exported",
                report.in_flight
            ));
        }
    }
}

/// Exports everything buffered so far and asks the exporter to flush; returns within
/// `timeout` whatever the exporter does, from any thread or async context. On the exporter
/// thread itself (e.g. from inside an exporter) it returns at once, incomplete.
pub fn flush(timeout: Duration) -> FlushReport {
    switches::restart_if_pending();
    let started = Instant::now();
    let Some(handle) = CURRENT.load_full() else {
        // No pipeline: nothing buffered, nothing in flight; the flush trivially completed.
        return FlushReport {
            completed: true,
            ..FlushReport::default()
        };
    };
    if crate::local::is_exporter_thread() {
        return FlushReport::timed_out(handle.stats(), started.elapsed());
    }
    handle
        .request(Command::Flush, timeout)
        .unwrap_or_else(|| FlushReport::timed_out(handle.stats(), started.elapsed()))
}

/// [`flush`] for async code: the wait happens on a short-lived helper thread, so no thread of
/// the caller's runtime is blocked (other tasks keep running, even on a `current_thread` or
/// one-worker runtime). Resolves within `timeout`, like [`flush`]; needs no particular
/// runtime.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let report = instrument_runtime::flush_async(std::time::Duration::from_secs(1)).await;
/// assert!(report.completed); // no pipeline: trivially complete
/// # });
/// ```
pub fn flush_async(timeout: Duration) -> impl std::future::Future<Output = FlushReport> {
    if crate::local::is_exporter_thread() {
        let report = flush(timeout);
        return OffThread::ready(report);
    }
    OffThread::spawn(move || flush(timeout), FlushReport::default())
}

/// The answer of a blocking call made on a helper thread, as a future.
struct OffThread<T> {
    slot: Arc<std::sync::Mutex<(Option<T>, Option<std::task::Waker>)>>,
}

impl<T: Send + 'static> OffThread<T> {
    fn ready(value: T) -> OffThread<T> {
        OffThread {
            slot: Arc::new(std::sync::Mutex::new((Some(value), None))),
        }
    }

    /// Runs `f` on a helper thread; if no thread can be started, resolves to `fallback`.
    fn spawn(f: impl FnOnce() -> T + Send + 'static, fallback: T) -> OffThread<T> {
        let slot = Arc::new(std::sync::Mutex::new((None, None)));
        let theirs = Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("instrument-flush".into())
            .spawn(move || {
                let value = f();
                let waker = {
                    let mut g: std::sync::MutexGuard<'_, (Option<T>, Option<std::task::Waker>)> =
                        theirs.lock().unwrap_or_else(|p| p.into_inner());
                    g.0 = Some(value);
                    g.1.take()
                };
                if let Some(w) = waker {
                    w.wake();
                }
            });
        if let Err(e) = spawned {
            config::warn_once(format!("cannot start a thread for an async flush: {e}"));
            return OffThread::ready(fallback);
        }
        OffThread { slot }
    }
}

impl<T> std::future::Future for OffThread<T> {
    type Output = T;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<T> {
        let mut g = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match g.0.take() {
            Some(v) => std::task::Poll::Ready(v),
            None => {
                g.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        }
    }
}

/// Accounting as of the exporter thread's last cycle (all zeros when not running).
pub fn stats() -> Stats {
    switches::restart_if_pending();
    CURRENT.load_full().map(|h| h.stats()).unwrap_or_default()
}

/// Replaces every exporter of the pipeline with `exporter` at run time: buffered records go to
/// the old exporters, which are then flushed and shut down; later records go to the new one.
/// No record is lost or exported twice: an old exporter that does not finish within the
/// deadline has what it still holds counted dropped (`timeout`) in its figures, which stay in
/// [`Stats::exporters`] (inactive). Returns within `timeout`.
pub fn set_exporter(exporter: impl Exporter, timeout: Duration) -> Result<(), SwapError> {
    let handle = CURRENT.load_full().ok_or(SwapError::NotRunning)?;
    if crate::local::is_exporter_thread() {
        return Err(SwapError::TimedOut);
    }
    match handle.request(
        |reply, deadline| {
            let spec: SinkSpec = (Box::new(exporter), SinkFilter::all());
            Command::SetExporters(vec![spec], reply, deadline)
        },
        timeout,
    ) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(SwapError::OldExporter(e)),
        None => Err(SwapError::TimedOut),
    }
}
