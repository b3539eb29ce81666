//! [`OtlpExporter`]: our records sent as OTLP, over gRPC or HTTP/protobuf, plain or TLS,
//! gzip or not, with our own client (see [`super::transport`]).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;

use super::config::{Compression, OtlpConfig, OtlpConfigError, Protocol, Signal};
use super::encode::OtlpEncoder;
use super::runtime::PrivateRuntime;
use super::temporality::{DeltaState, Temporality};
use super::transport::{encode_metrics, send_opt, SignalClient};
use super::{bridge, convert, metrics};
use crate::export::{Batch, ExportError, Exporter, Resource};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// How much longer than the longest signal deadline the whole export may take (the signals'
/// own deadlines fire first, so a hang is reported per signal).
const DEADLINE_GRACE: Duration = Duration::from_secs(1);

/// Sends traces, logs and metrics to an OpenTelemetry collector over OTLP.
///
/// - Protocol: HTTP/protobuf by default (the OTLP spec's default, port 4318), or gRPC (4317).
/// - TLS for `https://` endpoints (rustls): the collector is verified against
///   `OTEL_EXPORTER_OTLP_CERTIFICATE` (or [`certificate`](OtlpExporterBuilder::certificate))
///   or else the system's roots; a client certificate and key give mTLS.
/// - gzip compression (`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`).
/// - Every `OTEL_EXPORTER_OTLP_*` variable, generic and per signal (`_TRACES_`, `_LOGS_`,
///   `_METRICS_`), with the spec's precedence.
/// - OTLP partial success is read from every response: rejected spans and log records are
///   counted as dropped (reason `rejected`), the receiver's message reported once.
/// - Requests are kept under a byte limit (default 4 MiB, gRPC's default receive limit) by
///   splitting batches; a single record over it is rejected, never retried.
///
/// The three signals of a batch are sent concurrently on a private `current_thread` tokio
/// runtime owned by the exporter thread; the application's runtime is never used. Nothing is
/// retried inside: failures are classified (retryable, permanent, timeout, rejected) and the
/// exporter thread decides. Building one needs no tokio runtime and connects nothing.
///
/// ```no_run
/// use std::time::Duration;
/// use instrument_runtime::export::otlp::{Compression, OtlpExporter, Protocol};
///
/// let exporter = OtlpExporter::builder()
///     .endpoint("https://collector:4317")
///     .protocol(Protocol::Grpc)
///     .compression(Compression::Gzip)
///     .certificate("/etc/ssl/collector-ca.pem")
///     .timeout(Duration::from_secs(5))
///     .headers([("x-api-key", "secret")])
///     .build()?;
///
/// // Or from OTEL_EXPORTER_OTLP_* (invalid values are reported and replaced by defaults):
/// let from_env = OtlpExporter::from_env();
/// # Ok::<(), instrument_runtime::export::otlp::OtlpConfigError>(())
/// ```
pub struct OtlpExporter {
    config: OtlpConfig,
    runtime: PrivateRuntime,
    clients: [SignalClient; 3],
    resource: ResourceCache,
    encoder: OtlpEncoder,
    delta: DeltaState,
    shut_down: bool,
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("traces", self.clients[0].config())
            .field("logs", self.clients[1].config())
            .field("metrics", self.clients[2].config())
            .finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// A builder starting from the defaults (HTTP/protobuf to `http://localhost:4318`, 10 s,
    /// no compression), ignoring the environment.
    pub fn builder() -> OtlpExporterBuilder {
        OtlpExporterBuilder::default()
    }

    /// An exporter configured by the `OTEL_EXPORTER_OTLP_*` variables: `ENDPOINT`,
    /// `PROTOCOL`, `TIMEOUT`, `HEADERS`, `COMPRESSION`, `CERTIFICATE`, `CLIENT_CERTIFICATE`,
    /// `CLIENT_KEY`, each also per signal (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, ...), which
    /// wins. An invalid value is reported once and its default used; a certificate file that
    /// cannot be used is reported once and that signal's exports fail with that message (its
    /// records counted as dropped). This never fails or panics.
    pub fn from_env() -> OtlpExporter {
        OtlpExporter::from_config(OtlpConfig::from_env())
    }

    /// The protocol of the traces signal (all signals use it unless a per-signal
    /// `OTEL_EXPORTER_OTLP_*_PROTOCOL` says otherwise).
    pub fn protocol(&self) -> Protocol {
        self.config.protocol()
    }

    /// The deadline of one export (the longest of the signals' timeouts).
    pub fn timeout(&self) -> Duration {
        self.config.timeout()
    }

    /// The URLs traces, logs and metrics are sent to, in that order.
    pub fn urls(&self) -> [String; 3] {
        Signal::ALL.map(|signal| self.config.signal_url(signal))
    }

    fn from_config(config: OtlpConfig) -> OtlpExporter {
        let clients = Signal::ALL.map(|signal| SignalClient::new(config.resolve(signal)));
        OtlpExporter {
            config,
            runtime: PrivateRuntime::default(),
            clients,
            resource: ResourceCache::default(),
            encoder: OtlpEncoder::default(),
            delta: DeltaState::default(),
            shut_down: false,
        }
    }
}

impl Exporter for OtlpExporter {
    fn name(&self) -> &'static str {
        "otlp"
    }

    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        if self.shut_down {
            return Err(ExportError::permanent("the exporter is shut down"));
        }
        if batch.is_empty() {
            return Ok(());
        }
        let (resource, encoded) = self.resource.get(batch.resource.as_ref());
        let code = self.config.code_attributes;
        let [t, l, m] = &mut self.clients;
        let encoder = &mut self.encoder;
        let traces = (!batch.spans.is_empty()).then(|| {
            let limit = t.config().max_request_bytes;
            encoder.traces(&batch.spans, encoded, code, limit)
        });
        let logs = (!batch.logs.is_empty()).then(|| {
            let limit = l.config().max_request_bytes;
            encoder.logs(&batch.logs, encoded, limit)
        });
        let snapshot = batch.metrics.as_ref();
        let mut metrics = snapshot.map(|m| metrics::request(m, resource));
        let temporality = self.config.temporality;
        let pending = metrics.as_mut().map(|r| self.delta.apply(temporality, r));
        if let Some(r) = metrics.as_mut() {
            metrics::fit_exponential(r, self.config.exponential_max_size);
        }
        let limit = m.config().max_request_bytes;
        let metrics = metrics.map(|r| encode_metrics(r, limit));
        let deadline = self.config.timeout() + DEADLINE_GRACE;
        let all = async {
            tokio::join!(
                send_opt::<ExportTraceServiceRequest>(t, traces),
                send_opt::<ExportLogsServiceRequest>(l, logs),
                send_opt::<ExportMetricsServiceRequest>(m, metrics)
            )
        };
        let (traces, logs, metrics) = self.runtime.run(deadline, all)?;
        let delivered = match &metrics {
            Ok(()) => true,
            Err(e) => matches!(e.kind, crate::ExportErrorKind::Rejected { .. }),
        };
        if let (true, Some(pending)) = (delivered, pending) {
            self.delta.commit(pending);
        }
        bridge::combine([("traces", traces), ("logs", logs), ("metrics", metrics)])
    }

    /// Every export is synchronous: nothing is buffered here.
    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    /// Closes the connections and stops the private runtime, on this thread. Later exports
    /// fail with a permanent error.
    fn shutdown(&mut self) -> Result<(), ExportError> {
        if !std::mem::replace(&mut self.shut_down, true) {
            let fresh = Signal::ALL.map(|signal| SignalClient::new(self.config.resolve(signal)));
            {
                let _context = self.runtime.enter_existing();
                drop(std::mem::replace(&mut self.clients, fresh));
            }
            self.runtime.shutdown();
        }
        Ok(())
    }
}

impl Drop for OtlpExporter {
    fn drop(&mut self) {
        let _ = Exporter::shutdown(self);
    }
}

/// The OTLP resource of the last batch's [`Resource`] (as a message for metrics, encoded for
/// spans and logs), rebuilt only when it changes.
#[derive(Default)]
struct ResourceCache {
    current: Option<Arc<Resource>>,
    proto: Option<(ProtoResource, Vec<u8>)>,
}

impl ResourceCache {
    fn get(&mut self, resource: Option<&Arc<Resource>>) -> (&ProtoResource, &[u8]) {
        let changed = match (resource, &self.current) {
            (Some(new), Some(old)) => !Arc::ptr_eq(new, old) && **new != **old,
            (Some(_), None) => true,
            (None, _) => self.proto.is_none(),
        };
        if changed {
            if let Some(new) = resource {
                self.current = Some(Arc::clone(new));
            }
            let sdk = convert::resource(self.current.as_deref());
            let proto = metrics::resource(&sdk);
            let encoded = prost::Message::encode_to_vec(&proto);
            self.proto = Some((proto, encoded));
        }
        let (proto, encoded) = self.proto.get_or_insert_with(Default::default);
        (proto, encoded)
    }
}

/// Builds an [`OtlpExporter`]; values are checked by [`build`](Self::build).
#[derive(Clone, Debug, Default)]
pub struct OtlpExporterBuilder {
    config: OtlpConfig,
}

impl OtlpExporterBuilder {
    /// A builder starting from the `OTEL_EXPORTER_OTLP_*` variables (see
    /// [`OtlpExporter::from_env`]); what is set afterwards wins over the generic variables
    /// (per-signal variables still win for their signal).
    pub fn from_env() -> Self {
        OtlpExporterBuilder {
            config: OtlpConfig::from_env(),
        }
    }

    /// Base URL for every signal, e.g. `http://collector:4318` or `https://collector:4317`.
    /// For HTTP, `/v1/traces`, `/v1/logs` and `/v1/metrics` are appended.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.generic.endpoint = Some(url.into());
        self
    }

    /// Full URL for traces, used as is (like `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub fn traces_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.signals[Signal::Traces.index()].endpoint = Some(url.into());
        self
    }

    /// Full URL for logs, used as is.
    pub fn logs_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.signals[Signal::Logs.index()].endpoint = Some(url.into());
        self
    }

    /// Full URL for metrics, used as is.
    pub fn metrics_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.signals[Signal::Metrics.index()].endpoint = Some(url.into());
        self
    }

    /// gRPC or HTTP/protobuf (default HTTP/protobuf, as the OTLP spec recommends).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.config.generic.protocol = Some(protocol);
        self
    }

    /// Deadline of one export (default 10 s). Must be greater than zero.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.generic.timeout = Some(timeout);
        self
    }

    /// Compression of request bodies (default none).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.config.generic.compression = Some(compression);
        self
    }

    /// PEM file of the CA certificate(s) that verify the collector (instead of the system's
    /// roots), like `OTEL_EXPORTER_OTLP_CERTIFICATE`.
    pub fn certificate(mut self, ca_pem: impl Into<PathBuf>) -> Self {
        self.config.generic.ca = Some(ca_pem.into());
        self
    }

    /// PEM files of our certificate chain and private key, for mTLS (like
    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    pub fn client_certificate(
        mut self,
        cert_pem: impl Into<PathBuf>,
        key_pem: impl Into<PathBuf>,
    ) -> Self {
        self.config.generic.client_cert = Some(cert_pem.into());
        self.config.generic.client_key = Some(key_pem.into());
        self
    }

    /// Most buckets of one exponential histogram point (default
    /// [`EXPONENTIAL_MAX_SIZE`](crate::EXPONENTIAL_MAX_SIZE), 160, the OTLP SDK's; at least
    /// 2). Points are downscaled (adjacent buckets merged, counts exact) to the largest scale
    /// at most [`EXPONENTIAL_SCALE`](crate::EXPONENTIAL_SCALE) whose populated range fits.
    /// Only used when the pipeline records exponential histograms
    /// ([`Builder::exponential_histograms`](crate::Builder::exponential_histograms)).
    pub fn exponential_max_size(mut self, buckets: usize) -> Self {
        self.config.exponential_max_size = buckets.max(2);
        self
    }

    /// Temporality of counters and histograms (default cumulative; like
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    pub fn temporality(mut self, temporality: Temporality) -> Self {
        self.config.temporality = temporality;
        self
    }

    /// Whether every span carries `code.file.path` and `code.line.number` (default `true`).
    /// Off, a span is about 70 bytes smaller on the wire and cheaper to encode.
    pub fn code_attributes(mut self, on: bool) -> Self {
        self.config.code_attributes = on;
        self
    }

    /// Largest encoded request (default 4 MiB, gRPC's default receive limit); larger batches
    /// are split, a single record over it is rejected. At least 1024.
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.config.max_request_bytes = bytes;
        self
    }

    /// Adds one header (gRPC metadata) sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config
            .generic
            .headers
            .get_or_insert_with(Vec::new)
            .push((name.into(), value.into()));
        self
    }

    /// Adds headers (gRPC metadata) sent with every request, e.g. an API key.
    pub fn headers<I, K, V>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let pairs = headers.into_iter().map(|(k, v)| (k.into(), v.into()));
        self.config
            .generic
            .headers
            .get_or_insert_with(Vec::new)
            .extend(pairs);
        self
    }

    /// The exporter, or the first invalid value (a URL that is not `http(s)://host[:port]`, a
    /// header that is not a legal header, a zero timeout, a certificate or key file that
    /// cannot be read or parsed). Needs no tokio runtime.
    pub fn build(self) -> Result<OtlpExporter, OtlpConfigError> {
        self.config.validate()?;
        Ok(OtlpExporter::from_config(self.config))
    }
}
