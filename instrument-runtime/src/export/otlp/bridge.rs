//! [`OtelBridge`]: our batches, handed to `opentelemetry_sdk` exporters on a private runtime.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::logs::LoggerProvider as _;
use opentelemetry::InstrumentationScope;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData as SdkSpanData, SpanExporter};

use super::classify::classify_sdk_error;
use super::config;
use super::metrics_client::{BoxFuture, ProtoMetricsExporter};
use super::runtime::PrivateRuntime;
use super::{convert, metrics};
use crate::export::{Batch, ExportError, ExportErrorKind, Exporter, Resource};

/// How an `opentelemetry_sdk` error becomes an [`ExportError`].
pub type Classifier = fn(&OTelSdkError) -> ExportError;

/// Hands our batches to any `opentelemetry_sdk` span exporter, log exporter, and an OTLP
/// metrics sink ([`ProtoMetricsExporter`]).
///
/// - Spans become `opentelemetry_sdk::trace::SpanData` (ids, flags, times, status,
///   attributes, scope = this crate's name and version) and go to a [`SpanExporter`].
/// - Log records become `SdkLogRecord`s (both timestamps set, trace context from our ids) and
///   go to a [`LogExporter`].
/// - Metric snapshots become an OTLP `ExportMetricsServiceRequest` (cumulative) and go to a
///   [`ProtoMetricsExporter`]; why not the SDK's `PushMetricExporter` is explained in the
///   [module docs](super).
///
/// The three signals of a batch are sent concurrently on the bridge's private
/// `current_thread` tokio runtime, created on first use on the calling (exporter) thread and
/// shut down by [`Exporter::shutdown`] or drop. One deadline ([`OtelBridgeBuilder::timeout`])
/// bounds the whole [`Exporter::export`] call. Nothing is retried here: failures are
/// classified as retryable, permanent or timeout for the exporter thread to act on. A signal
/// with no exporter configured is skipped.
///
/// ```
/// use std::time::Duration;
/// use instrument_runtime::export::otlp::OtelBridge;
/// use instrument_runtime::Exporter;
/// # #[derive(Debug)]
/// # struct ZipkinExporter;
/// # impl opentelemetry_sdk::trace::SpanExporter for ZipkinExporter {
/// #     async fn export(
/// #         &self,
/// #         _batch: Vec<opentelemetry_sdk::trace::SpanData>,
/// #     ) -> opentelemetry_sdk::error::OTelSdkResult {
/// #         Ok(())
/// #     }
/// # }
///
/// // Any opentelemetry_sdk span exporter (here a stand-in for a Zipkin or vendor exporter).
/// let mut bridge = OtelBridge::builder()
///     .span_exporter(ZipkinExporter)
///     .timeout(Duration::from_secs(5))
///     .build();
/// bridge.export(&instrument_runtime::Batch::default()).unwrap();
/// ```
pub struct OtelBridge {
    name: &'static str,
    timeout: Duration,
    classify: Classifier,
    runtime: PrivateRuntime,
    spans: Option<Slot<Box<dyn DynSpanExporter>>>,
    logs: Option<Slot<Box<dyn DynLogExporter>>>,
    metrics: Option<Slot<Box<dyn ProtoMetricsExporter>>>,
    records: RecordContext,
    shut_down: bool,
}

impl fmt::Debug for OtelBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelBridge")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("spans", &self.spans.is_some())
            .field("logs", &self.logs.is_some())
            .field("metrics", &self.metrics.is_some())
            .field("shut_down", &self.shut_down)
            .finish_non_exhaustive()
    }
}

impl OtelBridge {
    /// Starts a bridge with no exporter; add the ones you have.
    pub fn builder() -> OtelBridgeBuilder {
        OtelBridgeBuilder::default()
    }

    /// The deadline of one export.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Builds pending exporters and brings every exporter's resource up to date.
    fn prepare(&mut self, resource: Option<&Arc<Resource>>) -> Result<(), ExportError> {
        {
            let _context = self.runtime.enter()?;
            build_slot(&mut self.spans, "traces");
            build_slot(&mut self.logs, "logs");
            build_slot(&mut self.metrics, "metrics");
        }
        self.records.update_resource(resource);
        let (generation, sdk) = (self.records.generation, &self.records.sdk_resource);
        if let Some(slot) = &mut self.spans {
            slot.apply_resource(generation, |e| e.set_resource(sdk));
        }
        if let Some(slot) = &mut self.logs {
            slot.apply_resource(generation, |e| e.set_resource(sdk));
        }
        Ok(())
    }

    /// Sends the converted signals concurrently under one deadline.
    fn send(
        &mut self,
        spans: Vec<SdkSpanData>,
        logs: &[SdkLogRecord],
        metrics: Option<ExportMetricsServiceRequest>,
    ) -> Result<(), ExportError> {
        let scope = &self.records.scope;
        let log_refs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            logs.iter().map(|record| (record, scope)).collect();
        let classify = self.classify;
        let span_target = self.spans.as_ref().map(Slot::target);
        let log_target = self.logs.as_ref().map(Slot::target);
        let metric_target = self.metrics.as_mut().map(Slot::get_mut);
        let all = async {
            tokio::join!(
                send_spans(span_target, spans, classify),
                send_logs(log_target, &log_refs, classify),
                send_metrics(metric_target, metrics),
            )
        };
        let (traces, logs, metrics) = self.runtime.run(self.timeout, all)?;
        combine([("traces", traces), ("logs", logs), ("metrics", metrics)])
    }

    fn flush_exporters(&self) -> Result<(), ExportError> {
        let spans = self.spans.as_ref().and_then(Slot::ready);
        spans.map_or(Ok(()), |e| {
            e.force_flush().map_err(|err| (self.classify)(&err))
        })
    }
}

impl Exporter for OtelBridge {
    fn name(&self) -> &'static str {
        self.name
    }

    /// Only with a span exporter (traces not disabled).
    fn exports_spans(&self) -> bool {
        self.spans.is_some()
    }

    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        if self.shut_down {
            return Err(ExportError::permanent("the exporter is shut down"));
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.prepare(batch.resource.as_ref())?;
        let records = &self.records;
        let spans = self
            .spans
            .as_ref()
            .map_or_else(Vec::new, |_| records.spans(batch));
        let logs = self
            .logs
            .as_ref()
            .map_or_else(Vec::new, |_| records.logs(batch));
        let snapshot = self.metrics.as_ref().and(batch.metrics.as_ref());
        let metrics = snapshot.map(|m| {
            let mut request = metrics::request(m, &records.proto_resource);
            metrics::fit_exponential(&mut request, crate::EXPONENTIAL_MAX_SIZE);
            request
        });
        self.send(spans, &logs, metrics)
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        let _context = self.runtime.enter_existing();
        self.flush_exporters()
    }

    /// Shuts the exporters down (each within the deadline), then the private runtime, on
    /// this thread. Later exports fail with a permanent error.
    fn shutdown(&mut self) -> Result<(), ExportError> {
        if std::mem::replace(&mut self.shut_down, true) {
            return Ok(());
        }
        let mut exporters = BridgeExporters {
            spans: self.spans.take(),
            logs: self.logs.take(),
        };
        self.metrics = None;
        let result = {
            let _context = self.runtime.enter_existing();
            let result = exporters.shutdown(self.timeout, self.classify);
            drop(exporters);
            result
        };
        self.runtime.shutdown();
        result
    }
}

impl Drop for OtelBridge {
    fn drop(&mut self) {
        let _ = Exporter::shutdown(self);
    }
}

/// The span and log exporters, taken out of the bridge for shutdown.
struct BridgeExporters {
    spans: Option<Slot<Box<dyn DynSpanExporter>>>,
    logs: Option<Slot<Box<dyn DynLogExporter>>>,
}

impl BridgeExporters {
    fn shutdown(&mut self, timeout: Duration, classify: Classifier) -> Result<(), ExportError> {
        let spans = self
            .spans
            .as_ref()
            .and_then(Slot::ready)
            .map(|e| e.shutdown(timeout));
        let logs = self
            .logs
            .as_ref()
            .and_then(Slot::ready)
            .map(|e| e.shutdown(timeout));
        let failed = [spans, logs].into_iter().flatten().find_map(Result::err);
        failed.map_or(Ok(()), |err| Err(classify(&err)))
    }
}

/// A signal's exporter, borrowed for one export.
struct Target<'a, T> {
    exporter: &'a T,
}

impl<T> Target<'_, T> {
    /// Forgets the previous response before sending.
    fn begin(&self) -> &T {
        self.exporter
    }

    fn classify(&self, error: &OTelSdkError, classify: Classifier) -> ExportError {
        classify(error)
    }
}

type TargetOf<'a, T> = Option<Result<Target<'a, T>, ExportError>>;

async fn send_spans(
    target: TargetOf<'_, Box<dyn DynSpanExporter>>,
    spans: Vec<SdkSpanData>,
    classify: Classifier,
) -> Result<(), ExportError> {
    let Some(target) = target.filter(|_| !spans.is_empty()) else {
        return Ok(());
    };
    let target = target?;
    let result = target.begin().export(spans).await;
    result.map_err(|err| target.classify(&err, classify))
}

async fn send_logs(
    target: TargetOf<'_, Box<dyn DynLogExporter>>,
    logs: &[(&SdkLogRecord, &InstrumentationScope)],
    classify: Classifier,
) -> Result<(), ExportError> {
    let Some(target) = target.filter(|_| !logs.is_empty()) else {
        return Ok(());
    };
    let target = target?;
    let result = target.begin().export(LogBatch::new(logs)).await;
    result.map_err(|err| target.classify(&err, classify))
}

async fn send_metrics(
    exporter: Option<Result<&mut Box<dyn ProtoMetricsExporter>, ExportError>>,
    request: Option<ExportMetricsServiceRequest>,
) -> Result<(), ExportError> {
    match (exporter, request) {
        (Some(exporter), Some(request)) => exporter?.export(request).await,
        _ => Ok(()),
    }
}

/// One error for the batch: the worst kind for the exporter thread (a timeout or a
/// retryable failure of any signal makes the batch worth retrying), naming every failure.
pub(crate) fn combine(results: [(&str, Result<(), ExportError>); 3]) -> Result<(), ExportError> {
    let failures: Vec<(&str, ExportError)> = results
        .into_iter()
        .filter_map(|(signal, r)| r.err().map(|e| (signal, e)))
        .collect();
    let kind = failures
        .iter()
        .map(|(_, e)| e.kind)
        .max_by_key(|k| severity(*k));
    let Some(mut kind) = kind else {
        return Ok(());
    };
    if let ExportErrorKind::Rejected { .. } = kind {
        // Only rejections: every signal's rejected records count.
        let count = failures
            .iter()
            .map(|(_, e)| match e.kind {
                ExportErrorKind::Rejected { count } => count,
                _ => 0,
            })
            .sum();
        kind = ExportErrorKind::Rejected { count };
    }
    let message = failures
        .iter()
        .map(|(signal, e)| format!("{signal}: {}", e.message))
        .collect::<Vec<_>>()
        .join("; ");
    Err(ExportError { kind, message })
}

fn severity(kind: ExportErrorKind) -> u8 {
    match kind {
        ExportErrorKind::Rejected { .. } => 0,
        ExportErrorKind::Permanent => 1,
        ExportErrorKind::Retryable => 2,
        ExportErrorKind::Timeout => 3,
    }
}

/// Builds a bridge. Every exporter is optional.
pub struct OtelBridgeBuilder {
    name: &'static str,
    timeout: Option<Duration>,
    classify: Classifier,
    spans: Option<Slot<Box<dyn DynSpanExporter>>>,
    logs: Option<Slot<Box<dyn DynLogExporter>>>,
    metrics: Option<Slot<Box<dyn ProtoMetricsExporter>>>,
}

impl Default for OtelBridgeBuilder {
    fn default() -> Self {
        OtelBridgeBuilder {
            name: "otel-bridge",
            timeout: None,
            classify: classify_sdk_error,
            spans: None,
            logs: None,
            metrics: None,
        }
    }
}

impl fmt::Debug for OtelBridgeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelBridgeBuilder")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OtelBridgeBuilder {
    /// Sends spans to `exporter`.
    pub fn span_exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.spans = Some(Slot::new_ready(Box::new(exporter)));
        self
    }

    /// Sends spans to the exporter `make` returns, called on first use on the exporter thread
    /// inside the bridge's runtime (for exporters that need a tokio context to be built). An
    /// error is reported once on stderr and makes every span export fail permanently.
    pub fn span_exporter_with<E, F, Er>(mut self, make: F) -> Self
    where
        E: SpanExporter + 'static,
        F: FnOnce() -> Result<E, Er> + Send + 'static,
        Er: fmt::Display,
    {
        let factory = move || make().map(|e| Box::new(e) as Box<dyn DynSpanExporter>);
        self.spans = Some(Slot::lazy(factory));
        self
    }

    /// Sends log records to `exporter`.
    pub fn log_exporter<E: LogExporter + 'static>(mut self, exporter: E) -> Self {
        self.logs = Some(Slot::new_ready(Box::new(exporter)));
        self
    }

    /// Sends log records to the exporter `make` returns, built lazily as in
    /// [`span_exporter_with`](Self::span_exporter_with).
    pub fn log_exporter_with<E, F, Er>(mut self, make: F) -> Self
    where
        E: LogExporter + 'static,
        F: FnOnce() -> Result<E, Er> + Send + 'static,
        Er: fmt::Display,
    {
        let factory = move || make().map(|e| Box::new(e) as Box<dyn DynLogExporter>);
        self.logs = Some(Slot::lazy(factory));
        self
    }

    /// Sends metric snapshots to `exporter`.
    pub fn metrics_exporter<M: ProtoMetricsExporter>(mut self, exporter: M) -> Self {
        self.metrics = Some(Slot::new_ready(Box::new(exporter)));
        self
    }

    /// Sends metric snapshots to the exporter `make` returns, built lazily as in
    /// [`span_exporter_with`](Self::span_exporter_with).
    pub fn metrics_exporter_with<M, F, Er>(mut self, make: F) -> Self
    where
        M: ProtoMetricsExporter,
        F: FnOnce() -> Result<M, Er> + Send + 'static,
        Er: fmt::Display,
    {
        let factory = move || make().map(|e| Box::new(e) as Box<dyn ProtoMetricsExporter>);
        self.metrics = Some(Slot::lazy(factory));
        self
    }

    /// Deadline of one export (default: `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s). Past it,
    /// the export is abandoned and reported as [`ExportErrorKind::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Replaces the default [`classify_sdk_error`](super::classify_sdk_error), for exporters
    /// whose error messages it does not understand.
    pub fn classify_with(mut self, classify: Classifier) -> Self {
        self.classify = classify;
        self
    }

    /// Name used in self-metrics and diagnostics (default `"otel-bridge"`).
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The bridge. Nothing is started before the first export.
    pub fn build(self) -> OtelBridge {
        let timeout = self
            .timeout
            .or_else(config::env_timeout)
            .unwrap_or(config::DEFAULT_TIMEOUT);
        OtelBridge {
            name: self.name,
            timeout,
            classify: self.classify,
            runtime: PrivateRuntime::default(),
            spans: self.spans,
            logs: self.logs,
            metrics: self.metrics,
            records: RecordContext::new(),
            shut_down: false,
        }
    }
}

/// What converting records needs: the scope, a log record factory, the current resource.
struct RecordContext {
    scope: InstrumentationScope,
    /// A logger of a provider without processors: `SdkLogRecord` has no public constructor,
    /// `Logger::create_log_record` is the SDK's public way to make one.
    logger: SdkLogger,
    /// The resource last seen in a batch (`None` until one is seen).
    current: Option<Arc<Resource>>,
    /// Bumped whenever the resource changes; 0 means "not computed yet".
    generation: u64,
    sdk_resource: opentelemetry_sdk::Resource,
    proto_resource: ProtoResource,
}

impl RecordContext {
    fn new() -> Self {
        let scope = convert::scope();
        let logger = SdkLoggerProvider::builder()
            .build()
            .logger_with_scope(scope.clone());
        RecordContext {
            scope,
            logger,
            current: None,
            generation: 0,
            sdk_resource: opentelemetry_sdk::Resource::builder_empty().build(),
            proto_resource: ProtoResource::default(),
        }
    }

    fn spans(&self, batch: &Batch) -> Vec<SdkSpanData> {
        let scope = &self.scope;
        batch
            .spans
            .iter()
            .map(|s| convert::span_data(s, scope))
            .collect()
    }

    fn logs(&self, batch: &Batch) -> Vec<SdkLogRecord> {
        let logger = &self.logger;
        batch
            .logs
            .iter()
            .map(|l| convert::log_record(l, logger))
            .collect()
    }

    /// A batch without a resource keeps the last one; before any, the SDK default is used.
    fn update_resource(&mut self, resource: Option<&Arc<Resource>>) {
        let changed = match (resource, &self.current) {
            (Some(new), Some(old)) => !Arc::ptr_eq(new, old) && new != old,
            (Some(_), None) => true,
            (None, _) => self.generation == 0,
        };
        if !changed {
            return;
        }
        if let Some(new) = resource {
            self.current = Some(Arc::clone(new));
        }
        self.sdk_resource = convert::resource(self.current.as_deref());
        self.proto_resource = metrics::resource(&self.sdk_resource);
        self.generation += 1;
    }
}

/// One signal's exporter: ready, or to be built on first use.
struct Slot<T> {
    state: SlotState<T>,
    /// Resource generation last applied to the exporter.
    applied: u64,
}

enum SlotState<T> {
    Ready(T),
    Pending(Box<dyn FnOnce() -> Result<T, String> + Send>),
    Failed(String),
}

impl<T> Slot<T> {
    fn new_ready(exporter: T) -> Self {
        Slot {
            state: SlotState::Ready(exporter),
            applied: 0,
        }
    }

    fn lazy<Er: fmt::Display>(make: impl FnOnce() -> Result<T, Er> + Send + 'static) -> Self {
        let make = move || make().map_err(|e| e.to_string());
        Slot {
            state: SlotState::Pending(Box::new(make)),
            applied: 0,
        }
    }

    /// Runs a pending factory. A failure is reported once on stderr and kept.
    fn build(&mut self, signal: &str) {
        let state = std::mem::replace(&mut self.state, SlotState::Failed(String::new()));
        self.state = match state {
            SlotState::Pending(make) => match make() {
                Ok(exporter) => SlotState::Ready(exporter),
                Err(message) => {
                    crate::diag::warn(format!("cannot build the {signal} exporter: {message}"));
                    SlotState::Failed(format!("{signal} exporter unavailable: {message}"))
                }
            },
            other => other,
        };
    }

    fn ready(&self) -> Option<&T> {
        match &self.state {
            SlotState::Ready(exporter) => Some(exporter),
            _ => None,
        }
    }

    fn get(&self) -> Result<&T, ExportError> {
        match &self.state {
            SlotState::Ready(exporter) => Ok(exporter),
            SlotState::Failed(message) => Err(ExportError::permanent(message.clone())),
            SlotState::Pending(_) => Err(ExportError::permanent("exporter not built yet")),
        }
    }

    fn get_mut(&mut self) -> Result<&mut T, ExportError> {
        match &mut self.state {
            SlotState::Ready(exporter) => Ok(exporter),
            SlotState::Failed(message) => Err(ExportError::permanent(message.clone())),
            SlotState::Pending(_) => Err(ExportError::permanent("exporter not built yet")),
        }
    }

    fn apply_resource(&mut self, generation: u64, apply: impl FnOnce(&mut T)) {
        if self.applied == generation {
            return;
        }
        if let SlotState::Ready(exporter) = &mut self.state {
            apply(exporter);
            self.applied = generation;
        }
    }

    fn target(&self) -> Result<Target<'_, T>, ExportError> {
        Ok(Target {
            exporter: self.get()?,
        })
    }
}

fn build_slot<T>(slot: &mut Option<Slot<T>>, signal: &str) {
    if let Some(slot) = slot {
        slot.build(signal);
    }
}

/// [`SpanExporter`] is not object safe (it returns `impl Future`); this is its boxed form.
trait DynSpanExporter: Send + Sync {
    fn export(&self, batch: Vec<SdkSpanData>) -> BoxFuture<'_, OTelSdkResult>;
    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource);
    fn force_flush(&self) -> OTelSdkResult;
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult;
}

impl<E: SpanExporter + 'static> DynSpanExporter for E {
    fn export(&self, batch: Vec<SdkSpanData>) -> BoxFuture<'_, OTelSdkResult> {
        Box::pin(SpanExporter::export(self, batch))
    }
    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        SpanExporter::set_resource(self, resource);
    }
    fn force_flush(&self) -> OTelSdkResult {
        SpanExporter::force_flush(self)
    }
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        SpanExporter::shutdown_with_timeout(self, timeout)
    }
}

/// The boxed form of [`LogExporter`].
trait DynLogExporter: Send + Sync {
    fn export<'a>(&'a self, batch: LogBatch<'a>) -> BoxFuture<'a, OTelSdkResult>;
    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource);
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult;
}

impl<E: LogExporter + 'static> DynLogExporter for E {
    fn export<'a>(&'a self, batch: LogBatch<'a>) -> BoxFuture<'a, OTelSdkResult> {
        Box::pin(LogExporter::export(self, batch))
    }
    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        LogExporter::set_resource(self, resource);
    }
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        LogExporter::shutdown_with_timeout(self, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{KeyValue, LogData, MetricsSnapshot, SpanData, SpanStatus};
    use crate::{ExportErrorKind, Level, SpanId, TraceId};
    use std::sync::Mutex;
    use std::time::Instant;

    /// What the fake exporters saw.
    #[derive(Debug, Default)]
    struct Seen {
        spans: Mutex<Vec<SdkSpanData>>,
        logs: Mutex<Vec<SdkLogRecord>>,
        resource: Mutex<Option<opentelemetry_sdk::Resource>>,
        metrics: Mutex<Vec<ExportMetricsServiceRequest>>,
    }

    #[derive(Debug)]
    struct FakeSpans(Arc<Seen>, Option<OTelSdkError>);

    impl SpanExporter for FakeSpans {
        async fn export(&self, batch: Vec<SdkSpanData>) -> OTelSdkResult {
            self.0.spans.lock().unwrap().extend(batch);
            self.1.as_ref().map_or(Ok(()), |e| Err(clone_error(e)))
        }
        fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
            *self.0.resource.lock().unwrap() = Some(resource.clone());
        }
    }

    #[derive(Debug)]
    struct FakeLogs(Arc<Seen>);

    impl LogExporter for FakeLogs {
        async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
            let records = batch.iter().map(|(record, _)| record.clone());
            self.0.logs.lock().unwrap().extend(records);
            Ok(())
        }
    }

    struct FakeMetrics(Arc<Seen>);

    impl ProtoMetricsExporter for FakeMetrics {
        fn export(
            &mut self,
            request: ExportMetricsServiceRequest,
        ) -> BoxFuture<'_, Result<(), ExportError>> {
            self.0.metrics.lock().unwrap().push(request);
            Box::pin(async { Ok(()) })
        }
    }

    #[derive(Debug)]
    struct Hangs;

    impl SpanExporter for Hangs {
        async fn export(&self, _batch: Vec<SdkSpanData>) -> OTelSdkResult {
            std::future::pending().await
        }
    }

    fn clone_error(e: &OTelSdkError) -> OTelSdkError {
        match e {
            OTelSdkError::InternalFailure(m) => OTelSdkError::InternalFailure(m.clone()),
            OTelSdkError::Timeout(d) => OTelSdkError::Timeout(*d),
            OTelSdkError::AlreadyShutdown => OTelSdkError::AlreadyShutdown,
        }
    }

    fn batch() -> Batch {
        let span = SpanData {
            trace_id: TraceId::from_u128(1),
            span_id: SpanId::from_u64(2),
            parent_span_id: None,
            trace_flags: 1,
            name: "root",
            target: "t",
            module_path: "m",
            file: "f.rs",
            line: 1,
            level: Level::Info,
            start_unix_nanos: 1,
            end_unix_nanos: 2,
            status: SpanStatus::Ok,
            attributes: vec![],
            ..Default::default()
        };
        let log = LogData {
            timestamp_unix_nanos: 3,
            level: Level::Info,
            target: "t".into(),
            body: "hello".into(),
            trace_id: Some(TraceId::from_u128(1)),
            span_id: Some(SpanId::from_u64(2)),
            trace_flags: 1,
            module_path: None,
            file: None,
            line: None,
            attributes: vec![KeyValue::new("k", "v")],
        };
        Batch {
            spans: vec![span],
            logs: vec![log],
            metrics: Some(MetricsSnapshot::default()),
            resource: Some(Arc::new(Resource {
                service_name: "svc".into(),
                attributes: vec![],
            })),
        }
    }

    #[test]
    fn every_signal_reaches_its_exporter_with_the_resource() {
        let seen = Arc::new(Seen::default());
        let mut bridge = OtelBridge::builder()
            .span_exporter(FakeSpans(Arc::clone(&seen), None))
            .log_exporter(FakeLogs(Arc::clone(&seen)))
            .metrics_exporter(FakeMetrics(Arc::clone(&seen)))
            .build();
        bridge.export(&batch()).unwrap();
        assert_eq!(seen.spans.lock().unwrap()[0].name, "root");
        let log = seen.logs.lock().unwrap()[0].clone();
        assert_eq!(log.timestamp(), log.observed_timestamp());
        let resource = seen.resource.lock().unwrap().clone().unwrap();
        let service = resource.get(&opentelemetry::Key::from_static_str("service.name"));
        assert_eq!(service, Some("svc".into()));
        let metrics = seen.metrics.lock().unwrap();
        let proto_resource = metrics[0].resource_metrics[0].resource.as_ref().unwrap();
        assert!(proto_resource
            .attributes
            .iter()
            .any(|kv| kv.key == "service.name"));
        bridge.shutdown().unwrap();
        let err = bridge.export(&batch()).unwrap_err();
        assert_eq!(err.kind, ExportErrorKind::Permanent);
    }

    #[test]
    fn a_hanging_exporter_times_out_within_the_deadline() {
        let mut bridge = OtelBridge::builder()
            .span_exporter(Hangs)
            .timeout(Duration::from_millis(100))
            .build();
        let started = Instant::now();
        let err = bridge.export(&batch()).unwrap_err();
        assert_eq!(err.kind, ExportErrorKind::Timeout);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn failures_are_classified_and_the_worst_kind_wins() {
        let seen = Arc::new(Seen::default());
        let unavailable = OTelSdkError::InternalFailure("gRPC code: Unavailable".into());
        let mut bridge = OtelBridge::builder()
            .span_exporter(FakeSpans(Arc::clone(&seen), Some(unavailable)))
            .log_exporter_with(|| Err::<FakeLogs, _>("no collector configured"))
            .build();
        let err = bridge.export(&batch()).unwrap_err();
        assert_eq!(err.kind, ExportErrorKind::Retryable);
        assert!(
            err.message.contains("traces: gRPC Unavailable"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("logs: logs exporter unavailable"),
            "{}",
            err.message
        );
    }

    #[test]
    fn empty_batches_and_shutdown_start_no_runtime() {
        let mut bridge = OtelBridge::builder().span_exporter(Hangs).build();
        bridge.export(&Batch::default()).unwrap();
        bridge.flush().unwrap();
        assert!(bridge.runtime.enter_existing().is_none());
        bridge.shutdown().unwrap();
        bridge.shutdown().unwrap();
    }

    #[test]
    fn combine_keeps_ok_when_all_ok() {
        assert!(combine([("a", Ok(())), ("b", Ok(())), ("c", Ok(()))]).is_ok());
        let err = combine([
            ("a", Err(ExportError::permanent("x"))),
            ("b", Err(ExportError::timeout("y"))),
            ("c", Ok(())),
        ])
        .unwrap_err();
        assert_eq!(err.kind, ExportErrorKind::Timeout);
        assert_eq!(err.message, "a: x; b: y");
    }
}
