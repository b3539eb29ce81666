//! Exporters: where batches go. Each exporter runs on the one exporter thread, never on an
//! application thread, and never needs the application's async runtime.
//!
//! One file per exporter, each behind its cargo feature:
//! - [`stdout`] (feature `stdout`, the default): JSON lines, or a pretty span tree.
//! - [`testing`]: an in-memory exporter for tests.

#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "prometheus")]
pub mod prometheus;
#[cfg(feature = "stdout")]
pub mod stdout;
pub mod testing;

pub use crate::data::*;

use std::fmt;

/// Why an export failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportErrorKind {
    /// Worth trying again later (connection refused, 503, `UNAVAILABLE`).
    Retryable,
    /// Will never succeed (bad request, encoding error): drop the batch.
    Permanent,
    /// The export did not finish before its deadline.
    Timeout,
    /// The receiver took the batch but rejected some of its records (OTLP partial success:
    /// `rejected_spans`, `rejected_log_records`, `rejected_data_points`). The rejected records
    /// are dropped with reason [`DropReason::Rejected`](crate::DropReason::Rejected), the rest
    /// count as exported; never retried, never trips the circuit breaker.
    Rejected {
        /// How many records of the batch the receiver rejected.
        count: u64,
    },
}

/// An export failure: its kind and a message for humans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportError {
    /// Retryable, permanent or timeout.
    pub kind: ExportErrorKind,
    /// What happened.
    pub message: String,
}

impl ExportError {
    /// A failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        ExportError {
            kind: ExportErrorKind::Retryable,
            message: message.into(),
        }
    }
    /// A failure not worth retrying.
    pub fn permanent(message: impl Into<String>) -> Self {
        ExportError {
            kind: ExportErrorKind::Permanent,
            message: message.into(),
        }
    }
    /// The receiver rejected `count` records of the batch and accepted the rest.
    pub fn rejected(count: u64, message: impl Into<String>) -> Self {
        ExportError {
            kind: ExportErrorKind::Rejected { count },
            message: message.into(),
        }
    }
    /// A deadline was reached.
    pub fn timeout(message: impl Into<String>) -> Self {
        ExportError {
            kind: ExportErrorKind::Timeout,
            message: message.into(),
        }
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} export error: {}", self.kind, self.message)
    }
}

impl std::error::Error for ExportError {}

/// A destination for telemetry. Implement it to send batches anywhere.
///
/// Every method is called on the exporter thread only, one at a time. Anything an exporter
/// logs or instruments there is not fed back into the pipeline (no re-entrancy, no recursion).
///
/// ```
/// use instrument_runtime::{Batch, ExportError, Exporter};
///
/// struct CountSpans(usize);
/// impl Exporter for CountSpans {
///     fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
///         self.0 += batch.spans.len();
///         Ok(())
///     }
/// }
/// ```
pub trait Exporter: Send + 'static {
    /// Short name, used in self-metrics and diagnostics.
    fn name(&self) -> &'static str {
        "custom"
    }
    /// Sends one batch. Return an error to have its records counted as dropped.
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError>;
    /// Pushes out anything the exporter buffers itself.
    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
    /// Releases resources; no call follows.
    fn shutdown(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
}

impl<E: Exporter + ?Sized> Exporter for Box<E> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        (**self).export(batch)
    }
    fn flush(&mut self) -> Result<(), ExportError> {
        (**self).flush()
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        (**self).shutdown()
    }
}

/// Sends every batch to several exporters (what enabling several exporter features does).
/// The batch counts as exported when every exporter took it; the first error is returned.
#[derive(Default)]
pub struct Fanout(pub Vec<Box<dyn Exporter>>);

impl fmt::Debug for Fanout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|e| e.name()))
            .finish()
    }
}

impl Exporter for Fanout {
    fn name(&self) -> &'static str {
        "fanout"
    }
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        fold_errors(self.0.iter_mut().map(|e| e.export(batch)))
    }
    fn flush(&mut self) -> Result<(), ExportError> {
        fold_errors(self.0.iter_mut().map(|e| e.flush()))
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        fold_errors(self.0.iter_mut().map(|e| e.shutdown()))
    }
}

/// Runs every call (none is skipped because an earlier one failed) and keeps the first error.
fn fold_errors(results: impl Iterator<Item = Result<(), ExportError>>) -> Result<(), ExportError> {
    let mut first = Ok(());
    for r in results {
        if first.is_ok() {
            first = r;
        }
    }
    first
}

/// An exporter that discards everything (for benchmarks, or to keep only metrics in-process).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopExporter;

impl Exporter for NoopExporter {
    fn name(&self) -> &'static str {
        "noop"
    }
    fn export(&mut self, _batch: &Batch) -> Result<(), ExportError> {
        Ok(())
    }
}

/// The exporters of the enabled cargo features, used when the builder names none.
pub(crate) fn feature_exporters() -> Vec<Box<dyn Exporter>> {
    #[allow(unused_mut)]
    let mut out: Vec<Box<dyn Exporter>> = Vec::new();
    #[cfg(feature = "stdout")]
    out.push(Box::new(stdout::StdoutExporter::from_env()));
    #[cfg(feature = "otlp")]
    out.push(Box::new(otlp::OtlpExporter::from_env()));
    #[cfg(feature = "prometheus")]
    match prometheus::PrometheusExporter::builder().build() {
        Ok(p) => out.push(Box::new(p)),
        Err(e) => crate::config::warn_once(format!("prometheus endpoint not started: {e}")),
    }
    if out.is_empty() {
        out.push(Box::new(NoopExporter));
    }
    out
}
