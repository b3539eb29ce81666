//! [`OtlpExporter`]: the bridge wired to opentelemetry-otlp's exporters and our OTLP metrics
//! client, over gRPC or HTTP/protobuf.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_otlp::{
    ExporterBuildError, RetryPolicy, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use super::bridge::{OtelBridge, OtelBridgeBuilder};
use super::config::{OtlpConfig, OtlpConfigError, Protocol, Signal};
use super::http_client::{LastResponse, RecordingHttpClient};
use super::metrics_client::{grpc_channel, header_map, http_client, OtlpMetricsClient};
use crate::export::{Batch, ExportError, Exporter};

/// How much longer than the export deadline the network clients' own timeouts are: the
/// bridge's deadline always fires first, so a hang is reported as a timeout, not as
/// whatever a client makes of its own timer.
const CLIENT_TIMEOUT_GRACE: Duration = Duration::from_secs(1);

/// Sends traces, logs and metrics to an OpenTelemetry collector over OTLP, gRPC or
/// HTTP/protobuf.
///
/// Spans and logs go through `opentelemetry-otlp`'s exporters, metrics through the
/// generated OTLP client (see the [module docs](super)), all on the private runtime of an
/// [`OtelBridge`]. opentelemetry-otlp's own retries are disabled: a failed export returns a
/// retryable, permanent or timeout [`ExportError`] and the exporter thread decides what to do.
/// Building one needs no tokio runtime and connects nothing; the network clients are built
/// on first export, on the exporter thread.
///
/// ```no_run
/// use std::time::Duration;
/// use instrument_runtime::export::otlp::{OtlpExporter, Protocol};
///
/// let exporter = OtlpExporter::builder()
///     .endpoint("http://collector:4317")
///     .protocol(Protocol::Grpc)
///     .timeout(Duration::from_secs(5))
///     .headers([("x-api-key", "secret")])
///     .build()?;
///
/// // Or from OTEL_EXPORTER_OTLP_* (invalid values are reported and replaced by defaults):
/// let from_env = OtlpExporter::from_env();
/// # Ok::<(), instrument_runtime::export::otlp::OtlpConfigError>(())
/// ```
pub struct OtlpExporter {
    bridge: OtelBridge,
    config: OtlpConfig,
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("protocol", &self.config.protocol)
            .field("traces", &self.config.signal_url(Signal::Traces))
            .field("logs", &self.config.signal_url(Signal::Logs))
            .field("metrics", &self.config.signal_url(Signal::Metrics))
            .field("timeout", &self.config.timeout)
            .finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// A builder starting from the defaults (HTTP/protobuf to `http://localhost:4318`, 10 s),
    /// ignoring the environment.
    pub fn builder() -> OtlpExporterBuilder {
        OtlpExporterBuilder::default()
    }

    /// An exporter configured by `OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`,
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` and `OTEL_EXPORTER_OTLP_HEADERS`. An invalid value is
    /// reported once on stderr and its default used; this never fails or panics.
    pub fn from_env() -> OtlpExporter {
        OtlpExporter::from_config(OtlpConfig::from_env())
    }

    /// The protocol in use.
    pub fn protocol(&self) -> Protocol {
        self.config.protocol
    }

    /// The deadline of one export.
    pub fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// The URLs traces, logs and metrics are sent to, in that order.
    pub fn urls(&self) -> [String; 3] {
        Signal::ALL.map(|signal| self.config.signal_url(signal))
    }

    fn from_config(config: OtlpConfig) -> OtlpExporter {
        let builder = match config.protocol {
            Protocol::Grpc => grpc_bridge(&config),
            Protocol::HttpProtobuf => http_bridge(&config),
        };
        let bridge = builder.name("otlp").timeout(config.timeout).build();
        OtlpExporter { bridge, config }
    }
}

impl Exporter for OtlpExporter {
    fn name(&self) -> &'static str {
        "otlp"
    }
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        self.bridge.export(batch)
    }
    fn flush(&mut self) -> Result<(), ExportError> {
        self.bridge.flush()
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        self.bridge.shutdown()
    }
}

/// Builds an [`OtlpExporter`]; values are checked by [`build`](Self::build).
#[derive(Clone, Debug, Default)]
pub struct OtlpExporterBuilder {
    config: OtlpConfig,
}

impl OtlpExporterBuilder {
    /// A builder starting from the `OTEL_EXPORTER_OTLP_*` variables (see
    /// [`OtlpExporter::from_env`]); what is set afterwards wins.
    pub fn from_env() -> Self {
        OtlpExporterBuilder {
            config: OtlpConfig::from_env(),
        }
    }

    /// Base URL for every signal, e.g. `http://collector:4318`. For HTTP, `/v1/traces`,
    /// `/v1/logs` and `/v1/metrics` are appended.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoint = Some(url.into());
        self
    }

    /// Full URL for traces, used as is (like `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub fn traces_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.set_signal_endpoint(Signal::Traces, url.into());
        self
    }

    /// Full URL for logs, used as is.
    pub fn logs_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.set_signal_endpoint(Signal::Logs, url.into());
        self
    }

    /// Full URL for metrics, used as is.
    pub fn metrics_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.set_signal_endpoint(Signal::Metrics, url.into());
        self
    }

    /// gRPC or HTTP/protobuf (default HTTP/protobuf, as the OTLP spec recommends).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.config.protocol = protocol;
        self
    }

    /// Deadline of one export (default 10 s). Must be greater than zero.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Adds one header (gRPC metadata) sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.headers.push((name.into(), value.into()));
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
        self.config.headers.extend(pairs);
        self
    }

    /// The exporter, or the first invalid value (a URL that is not `http://host[:port]`, a
    /// header that is not a legal header, a zero timeout). Needs no tokio runtime.
    pub fn build(self) -> Result<OtlpExporter, OtlpConfigError> {
        self.config.validate()?;
        Ok(OtlpExporter::from_config(self.config))
    }
}

/// The bridge for OTLP/gRPC: one lazily connected tonic channel per distinct URL, shared by
/// the signals, created inside the bridge's runtime (tonic spawns a task for it).
fn grpc_bridge(config: &OtlpConfig) -> OtelBridgeBuilder {
    let channels = Channels::new(config.timeout + CLIENT_TIMEOUT_GRACE);
    let metadata = MetadataMap::from_headers(header_map(&config.headers));
    let timeout = channels.timeout;
    let (spans, logs, metrics) = (
        grpc_target(config, Signal::Traces, &channels, &metadata),
        grpc_target(config, Signal::Logs, &channels, &metadata),
        grpc_target(config, Signal::Metrics, &channels, &metadata),
    );
    OtelBridge::builder()
        .span_exporter_with(move || {
            let (channel, metadata) = spans.connect()?;
            grpc_span_exporter(channel, metadata, timeout).map_err(|e| e.to_string())
        })
        .log_exporter_with(move || {
            let (channel, metadata) = logs.connect()?;
            grpc_log_exporter(channel, metadata, timeout).map_err(|e| e.to_string())
        })
        .metrics_exporter_with(move || {
            let (channel, metadata) = metrics.connect()?;
            let headers = metadata.into_headers();
            Ok::<_, String>(OtlpMetricsClient::with_channel(channel, headers, timeout))
        })
}

fn grpc_span_exporter(
    channel: Channel,
    metadata: MetadataMap,
    timeout: Duration,
) -> Result<opentelemetry_otlp::SpanExporter, ExporterBuildError> {
    opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_channel(channel)
        .with_metadata(metadata)
        .with_timeout(timeout)
        .with_retry_policy(RetryPolicy::disabled())
        .build()
}

fn grpc_log_exporter(
    channel: Channel,
    metadata: MetadataMap,
    timeout: Duration,
) -> Result<opentelemetry_otlp::LogExporter, ExporterBuildError> {
    opentelemetry_otlp::LogExporter::builder()
        .with_tonic()
        .with_channel(channel)
        .with_metadata(metadata)
        .with_timeout(timeout)
        .with_retry_policy(RetryPolicy::disabled())
        .build()
}

/// What one signal's factory needs to get its channel.
struct GrpcTarget {
    url: String,
    channels: Channels,
    metadata: MetadataMap,
}

impl GrpcTarget {
    fn connect(self) -> Result<(Channel, MetadataMap), String> {
        Ok((self.channels.get(&self.url)?, self.metadata))
    }
}

fn grpc_target(
    config: &OtlpConfig,
    signal: Signal,
    channels: &Channels,
    metadata: &MetadataMap,
) -> GrpcTarget {
    GrpcTarget {
        url: config.signal_url(signal),
        channels: channels.clone(),
        metadata: metadata.clone(),
    }
}

/// Channels by URL, so signals sent to one collector share one HTTP/2 connection.
#[derive(Clone)]
struct Channels {
    by_url: Arc<Mutex<HashMap<String, Channel>>>,
    timeout: Duration,
}

impl Channels {
    fn new(timeout: Duration) -> Self {
        Channels {
            by_url: Arc::default(),
            timeout,
        }
    }

    /// The channel for `url`, connecting lazily. Must run inside a tokio runtime context.
    fn get(&self, url: &str) -> Result<Channel, String> {
        let mut by_url = self
            .by_url
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(channel) = by_url.get(url) {
            return Ok(channel.clone());
        }
        let channel = grpc_channel(url, self.timeout)?;
        by_url.insert(url.to_owned(), channel.clone());
        Ok(channel)
    }
}

/// The bridge for OTLP/HTTP with protobuf bodies: one reqwest client (one connection pool)
/// for every signal; span and log responses are noted so `Retry-After` survives.
fn http_bridge(config: &OtlpConfig) -> OtelBridgeBuilder {
    let timeout = config.timeout + CLIENT_TIMEOUT_GRACE;
    let client = SharedHttpClient::new(timeout);
    let headers: HashMap<String, String> = config.headers.iter().cloned().collect();
    let (span_seen, log_seen) = (
        Arc::<LastResponse>::default(),
        Arc::<LastResponse>::default(),
    );
    let span_target = HttpTarget::new(config, Signal::Traces, &client, &headers, &span_seen);
    let log_target = HttpTarget::new(config, Signal::Logs, &client, &headers, &log_seen);
    let metrics_url = config.signal_url(Signal::Metrics);
    let metrics_headers = header_map(&config.headers);
    OtelBridge::builder()
        .span_exporter_with(move || {
            let (client, url, headers) = span_target.parts()?;
            http_span_exporter(client, url, headers, timeout).map_err(|e| e.to_string())
        })
        .log_exporter_with(move || {
            let (client, url, headers) = log_target.parts()?;
            http_log_exporter(client, url, headers, timeout).map_err(|e| e.to_string())
        })
        .metrics_exporter_with(move || {
            let client = client.get()?;
            Ok::<_, String>(OtlpMetricsClient::with_http_client(
                client,
                metrics_url,
                metrics_headers,
            ))
        })
        .http_recorders(span_seen, log_seen)
}

fn http_span_exporter(
    client: RecordingHttpClient,
    url: String,
    headers: HashMap<String, String>,
    timeout: Duration,
) -> Result<opentelemetry_otlp::SpanExporter, ExporterBuildError> {
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(url)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_headers(headers)
        .with_timeout(timeout)
        .with_retry_policy(RetryPolicy::disabled())
        .build()
}

fn http_log_exporter(
    client: RecordingHttpClient,
    url: String,
    headers: HashMap<String, String>,
    timeout: Duration,
) -> Result<opentelemetry_otlp::LogExporter, ExporterBuildError> {
    opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(url)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_headers(headers)
        .with_timeout(timeout)
        .with_retry_policy(RetryPolicy::disabled())
        .build()
}

/// What one HTTP signal's factory needs.
struct HttpTarget {
    client: SharedHttpClient,
    url: String,
    headers: HashMap<String, String>,
    seen: Arc<LastResponse>,
}

impl HttpTarget {
    fn new(
        config: &OtlpConfig,
        signal: Signal,
        client: &SharedHttpClient,
        headers: &HashMap<String, String>,
        seen: &Arc<LastResponse>,
    ) -> Self {
        HttpTarget {
            client: client.clone(),
            url: config.signal_url(signal),
            headers: headers.clone(),
            seen: Arc::clone(seen),
        }
    }

    fn parts(self) -> Result<(RecordingHttpClient, String, HashMap<String, String>), String> {
        let client = RecordingHttpClient::new(self.client.get()?, self.seen);
        Ok((client, self.url, self.headers))
    }
}

/// One reqwest client, built on first use and then shared.
#[derive(Clone)]
struct SharedHttpClient {
    client: Arc<Mutex<Option<reqwest::Client>>>,
    timeout: Duration,
}

impl SharedHttpClient {
    fn new(timeout: Duration) -> Self {
        SharedHttpClient {
            client: Arc::default(),
            timeout,
        }
    }

    fn get(&self) -> Result<reqwest::Client, String> {
        let mut client = self
            .client
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = client.as_ref() {
            return Ok(client.clone());
        }
        let built = http_client(self.timeout)?;
        *client = Some(built.clone());
        Ok(built)
    }
}
