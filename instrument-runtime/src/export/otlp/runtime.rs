//! The bridge's private tokio runtime.
//!
//! The network clients (tonic, reqwest) are async and need a tokio reactor. Borrowing the
//! application's runtime is how OpenTelemetry SDKs deadlock on `current_thread` runtimes (see
//! `DESIGN.md`, "Lessons"), so the bridge owns a `current_thread` runtime of its own: created
//! on first use, on the exporter thread, driven only inside [`PrivateRuntime::run`], and shut
//! down on the thread that owns the bridge. Every run has a deadline.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::{EnterGuard, Handle, Runtime};

use crate::ExportError;

/// A lazily created `current_thread` runtime (I/O and time drivers enabled).
#[derive(Debug, Default)]
pub(crate) struct PrivateRuntime {
    runtime: Option<Runtime>,
}

impl PrivateRuntime {
    /// The runtime, created on first call on the calling thread.
    fn get(&mut self) -> Result<&Runtime, ExportError> {
        Ok(match &mut self.runtime {
            Some(runtime) => runtime,
            empty @ None => empty.insert(new_runtime()?),
        })
    }

    /// Enters the runtime's context, so that code which spawns (tonic's lazy channel) finds it.
    pub(crate) fn enter(&mut self) -> Result<EnterGuard<'_>, ExportError> {
        Ok(self.get()?.enter())
    }

    /// Enters the runtime's context if the runtime exists (never creates it).
    pub(crate) fn enter_existing(&self) -> Option<EnterGuard<'_>> {
        self.runtime.as_ref().map(Runtime::enter)
    }

    /// Drives `future` to completion, or gives up after `deadline` with a timeout error.
    ///
    /// Normally called on the exporter thread, which is not inside any runtime. If a caller is
    /// inside one (an exporter used directly from async code), `block_on` there would panic,
    /// so the future is driven from a scoped helper thread instead.
    pub(crate) fn run<F>(&mut self, deadline: Duration, future: F) -> Result<F::Output, ExportError>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let runtime = self.get()?;
        let bounded = async move { tokio::time::timeout(deadline, future).await };
        let outcome = if Handle::try_current().is_ok() {
            block_on_helper_thread(runtime, bounded)?
        } else {
            runtime.block_on(bounded)
        };
        outcome
            .map_err(|_| ExportError::timeout(format!("export did not finish within {deadline:?}")))
    }

    /// Stops the runtime without waiting for its tasks (tonic's connection tasks are just
    /// dropped). Safe to call from any context, including inside another runtime.
    pub(crate) fn shutdown(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for PrivateRuntime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn new_runtime() -> Result<Runtime, ExportError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("instrument-exporter-rt")
        // Threads the runtime starts (blocking DNS lookups) belong to the exporter: what the
        // network clients log there must not be fed back into the pipeline.
        .on_thread_start(crate::local::mark_exporter_thread)
        .build()
        .map_err(|e| ExportError::retryable(format!("cannot start the exporter runtime: {e}")))
}

fn block_on_helper_thread<F>(runtime: &Runtime, future: F) -> Result<F::Output, ExportError>
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("instrument-exporter-rt".into())
            .spawn_scoped(scope, || runtime.block_on(future))
            .map_err(|e| ExportError::retryable(format!("cannot start a helper thread: {e}")))?
            .join()
            .map_err(|_| ExportError::permanent("an OTLP export panicked"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hanging_future_times_out() {
        let mut rt = PrivateRuntime::default();
        let err = rt
            .run(Duration::from_millis(50), std::future::pending::<()>())
            .unwrap_err();
        assert_eq!(err.kind, crate::ExportErrorKind::Timeout);
        assert_eq!(rt.run(Duration::from_secs(1), async { 7 }).unwrap(), 7);
    }

    #[test]
    fn works_from_inside_another_runtime_and_drops_there() {
        let outer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        outer.block_on(async {
            let mut rt = PrivateRuntime::default();
            assert_eq!(rt.run(Duration::from_secs(1), async { 1 }).unwrap(), 1);
            drop(rt);
        });
    }
}
