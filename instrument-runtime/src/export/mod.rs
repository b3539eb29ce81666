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

/// Records an exporter accepted (its `export` returned `Ok` or a permanent error) but still
/// keeps, undelivered: the pretty stdout mode parks a trace's records until its root span
/// arrives. The pipeline counts them in flight for this exporter until `held` no longer
/// reports them; they then count as exported if the call that released them returned `Ok`,
/// else as dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Spans held.
    pub spans: u64,
    /// Log records held.
    pub logs: u64,
}

/// What one exporter takes: a minimum level and a set of signals, applied on the exporter
/// thread (the application pays nothing for it). Records the filter refuses count as dropped
/// with reason [`Filtered`](crate::DropReason::Filtered) in that exporter's accounting.
///
/// ```
/// use instrument_runtime::export::{SinkFilter, SignalKind};
/// use instrument_runtime::Level;
///
/// // OTLP: spans and logs at info and above; Prometheus: metrics only.
/// let otlp = SinkFilter::all().min_level(Level::Info).signals(&[SignalKind::Traces, SignalKind::Logs]);
/// let prom = SinkFilter::all().signals(&[SignalKind::Metrics]);
/// assert!(otlp.takes(SignalKind::Logs) && !otlp.takes(SignalKind::Metrics));
/// assert!(!prom.takes(SignalKind::Traces));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SinkFilter {
    min_level: crate::Level,
    traces: bool,
    logs: bool,
    metrics: bool,
}

impl Default for SinkFilter {
    fn default() -> Self {
        SinkFilter::all()
    }
}

impl SinkFilter {
    /// Every signal, every level.
    pub const fn all() -> SinkFilter {
        SinkFilter {
            min_level: crate::Level::Trace,
            traces: true,
            logs: true,
            metrics: true,
        }
    }

    /// Only spans and log records at `level` or above (metrics have no level).
    #[must_use]
    pub const fn min_level(mut self, level: crate::Level) -> SinkFilter {
        self.min_level = level;
        self
    }

    /// Only these signals.
    #[must_use]
    pub fn signals(mut self, signals: &[SignalKind]) -> SinkFilter {
        self.traces = signals.contains(&SignalKind::Traces);
        self.logs = signals.contains(&SignalKind::Logs);
        self.metrics = signals.contains(&SignalKind::Metrics);
        self
    }

    /// `true` if this filter takes the signal (at some level).
    pub fn takes(&self, signal: SignalKind) -> bool {
        match signal {
            SignalKind::Traces => self.traces,
            SignalKind::Logs => self.logs,
            SignalKind::Metrics => self.metrics,
        }
    }

    /// The lowest level taken.
    pub fn level(&self) -> crate::Level {
        self.min_level
    }

    /// `true` if this filter lets everything through.
    pub fn is_all(&self) -> bool {
        *self == SinkFilter::all()
    }

    pub(crate) fn takes_span(&self, span: &SpanData) -> bool {
        self.traces && span.level >= self.min_level
    }

    pub(crate) fn takes_log(&self, log: &LogData) -> bool {
        self.logs && log.level >= self.min_level
    }
}

/// A destination for telemetry. Implement it to send batches anywhere.
///
/// Each exporter of a pipeline gets its own delivery worker thread (`instrument-sink-<name>`),
/// with its own queue, retries, circuit breaker and accounting: one exporter that is slow,
/// failing, hung or panicking never delays, duplicates or drops what another one gets. Every
/// method of one exporter is called on its worker, one at a time. Anything an exporter logs or
/// instruments there is not fed back into the pipeline (no re-entrancy, no recursion). A panic
/// in any method (or in `Drop`) is caught and counted.
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
    /// Records accepted but not delivered yet (see [`Held`]); default none.
    fn held(&self) -> Held {
        Held::default()
    }
    /// Called when the exporter's queue is idle, at least every [`POLL_INTERVAL`]: deliver what
    /// is held and due (the pretty stdout mode prints trees whose wait is over).
    fn poll(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
    /// Called once, on the exporter's worker, when the pipeline starts it (at `init()` or a
    /// swap), if its filter takes metrics. `request` asks the pipeline for a metrics snapshot
    /// now: it does not block (it sets a flag and wakes the exporter thread), and at its next
    /// cycle the exporter thread exports a snapshot to this exporter only (the others keep
    /// their `metrics_interval`). An exporter that serves metrics on demand (Prometheus: a
    /// scrape) keeps it; the default ignores it.
    fn metrics_demand(&mut self, request: MetricsDemand) {
        let _ = request;
    }
    /// `true` (the default) if the spans this exporter is given reach a trace backend, so a
    /// histogram bucket may name one of them as its exemplar (see
    /// [`Exemplar`]). Exporters that ignore spans (Prometheus,
    /// [`NoopExporter`]) say `false`. Asked once, when the pipeline starts the exporter.
    fn exports_spans(&self) -> bool {
        true
    }
}

/// Asks the pipeline for a metrics snapshot now (see [`Exporter::metrics_demand`]); never
/// blocks.
pub type MetricsDemand = std::sync::Arc<dyn Fn() + Send + Sync>;

/// How often an idle exporter's [`Exporter::poll`] is called, at most this far apart.
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

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
    fn held(&self) -> Held {
        (**self).held()
    }
    fn poll(&mut self) -> Result<(), ExportError> {
        (**self).poll()
    }
    fn metrics_demand(&mut self, request: MetricsDemand) {
        (**self).metrics_demand(request);
    }
    fn exports_spans(&self) -> bool {
        (**self).exports_spans()
    }
}

/// Sends every batch to several exporters as **one** exporter: one queue, one retry, one
/// circuit breaker, and the batch counts as exported only when every exporter took it (the
/// first error is returned, so a retry re-sends to all). The pipeline does not use it: give
/// each exporter to [`Builder::exporter`](crate::Builder::exporter) instead, and each gets its
/// own delivery. Kept for exporters that must succeed or fail together.
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
    fn held(&self) -> Held {
        self.0.iter().fold(Held::default(), |acc, e| {
            let h = e.held();
            Held {
                spans: acc.spans.max(h.spans),
                logs: acc.logs.max(h.logs),
            }
        })
    }
    fn poll(&mut self) -> Result<(), ExportError> {
        fold_errors(self.0.iter_mut().map(|e| e.poll()))
    }
    fn metrics_demand(&mut self, request: MetricsDemand) {
        for e in &mut self.0 {
            e.metrics_demand(std::sync::Arc::clone(&request));
        }
    }
    fn exports_spans(&self) -> bool {
        self.0.iter().any(|e| e.exports_spans())
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
    fn exports_spans(&self) -> bool {
        false
    }
}

/// The exporters `init()` starts when the builder names none, each with the signals it takes
/// (see `config::select_exporters` for the rules). Empty when every signal is `none`.
pub(crate) fn feature_exporters() -> Vec<(Box<dyn Exporter>, SinkFilter)> {
    let mut out: Vec<(Box<dyn Exporter>, SinkFilter)> = Vec::new();
    for (kind, signals) in crate::config::select_exporters().sinks {
        if let Some(exporter) = make_feature_exporter(kind) {
            out.push((exporter, SinkFilter::all().signals(&signals)));
        }
    }
    out
}

/// One compiled-in exporter, configured from the environment (`None` if it cannot start).
fn make_feature_exporter(kind: crate::config::Kind) -> Option<Box<dyn Exporter>> {
    match kind {
        #[cfg(feature = "stdout")]
        crate::config::Kind::Console => Some(Box::new(stdout::StdoutExporter::from_env())),
        #[cfg(feature = "otlp")]
        crate::config::Kind::Otlp => Some(Box::new(otlp::OtlpExporter::from_env())),
        #[cfg(feature = "prometheus")]
        crate::config::Kind::Prometheus => {
            match prometheus::PrometheusExporter::builder().build() {
                Ok(p) => Some(Box::new(p)),
                Err(e) => {
                    crate::diag::warn(format!("prometheus endpoint not started: {e}"));
                    None
                }
            }
        }
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
