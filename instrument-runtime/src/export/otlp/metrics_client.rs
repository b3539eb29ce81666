//! Sending OTLP metric requests: the [`ProtoMetricsExporter`] trait and its OTLP client.
//!
//! The request is an `opentelemetry-proto` message, `prost`-encoded (split under the byte
//! limit) and sent by our OTLP client ([`super::transport`]): over gRPC with tonic, over HTTP
//! POSTed with
//! `Content-Type: application/x-protobuf` (OTLP/HTTP, binary protobuf encoding).

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;

use super::config::{
    check_endpoint, check_header, Compression, OtlpConfigError, Protocol, Signal, SignalConfig,
    TlsFiles, DEFAULT_MAX_REQUEST_BYTES,
};
use super::transport::{encode_metrics, SignalClient};
use crate::ExportError;

/// A boxed future that can be sent to the exporter thread's runtime.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the [`OtelBridge`](super::OtelBridge) sends metrics: anything that takes an OTLP
/// `ExportMetricsServiceRequest`.
///
/// This, not `opentelemetry_sdk`'s `PushMetricExporter`, is the bridge's metrics interface,
/// because the SDK's `ResourceMetrics` cannot be built outside the SDK (see the
/// [module docs](super)). [`OtlpMetricsClient`] implements it for OTLP/gRPC and
/// OTLP/HTTP.
///
/// The returned future is polled on the bridge's private runtime, under the export deadline;
/// it must not retry (the exporter thread does).
pub trait ProtoMetricsExporter: Send + 'static {
    /// Sends one request.
    fn export(
        &mut self,
        request: ExportMetricsServiceRequest,
    ) -> BoxFuture<'_, Result<(), ExportError>>;
}

/// Sends metric requests to an OTLP endpoint over gRPC or HTTP/protobuf (TLS for
/// `https://`, verified against the system's roots), reading partial success.
pub struct OtlpMetricsClient {
    client: SignalClient,
}

impl fmt::Debug for OtlpMetricsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpMetricsClient")
            .field("protocol", &self.client.config().protocol)
            .field("url", &self.client.config().url)
            .finish_non_exhaustive()
    }
}

impl OtlpMetricsClient {
    /// A client for `url` (for HTTP the full URL, usually ending in `/v1/metrics`), sending
    /// `headers` with every request; `timeout` bounds each export. Nothing connects before
    /// the first export.
    pub fn new(
        protocol: Protocol,
        url: &str,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<Self, OtlpConfigError> {
        OtlpMetricsClient::with_tls(protocol, url, headers, timeout, None)
    }

    /// Like [`new`](Self::new), verifying the server against the CA certificate(s) in the PEM
    /// file `ca` (the system's roots when `None`).
    pub fn with_tls(
        protocol: Protocol,
        url: &str,
        headers: &[(String, String)],
        timeout: Duration,
        ca: Option<PathBuf>,
    ) -> Result<Self, OtlpConfigError> {
        check_endpoint(url).map_err(OtlpConfigError::from_message)?;
        for (name, value) in headers {
            check_header(name, value).map_err(OtlpConfigError::from_message)?;
        }
        let tls = TlsFiles {
            ca,
            ..TlsFiles::default()
        };
        super::tls::TlsMaterial::load(&tls).map_err(OtlpConfigError::from_message)?;
        let config = SignalConfig {
            signal: Signal::Metrics,
            protocol,
            url: url.to_owned(),
            timeout,
            headers: headers.to_vec(),
            compression: Compression::None,
            tls,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        };
        Ok(OtlpMetricsClient {
            client: SignalClient::new(config),
        })
    }
}

impl ProtoMetricsExporter for OtlpMetricsClient {
    fn export(
        &mut self,
        request: ExportMetricsServiceRequest,
    ) -> BoxFuture<'_, Result<(), ExportError>> {
        let limit = self.client.config().max_request_bytes;
        let encoded = encode_metrics(request, limit);
        Box::pin(self.client.send::<ExportMetricsServiceRequest>(encoded))
    }
}

/// Headers as a map; entries that are not legal headers were rejected earlier and are skipped.
pub(crate) fn header_map(headers: &[(String, String)]) -> http::HeaderMap {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let name = http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).ok()?;
            Some((name, http::HeaderValue::from_str(value).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::otlp::OtelBridge;
    use crate::export::{Batch, Exporter, MetricsSnapshot};
    use crate::ExportErrorKind;

    fn closed_port_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    }

    fn metrics_batch() -> Batch {
        Batch {
            metrics: Some(MetricsSnapshot::default()),
            ..Batch::default()
        }
    }

    #[test]
    fn public_clients_connect_lazily_inside_the_bridge_runtime() {
        let url = closed_port_url();
        for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
            let client =
                OtlpMetricsClient::new(protocol, &url, &[], Duration::from_secs(2)).unwrap();
            let mut bridge = OtelBridge::builder()
                .metrics_exporter(client)
                .timeout(Duration::from_secs(3))
                .build();
            let err = bridge.export(&metrics_batch()).unwrap_err();
            assert_eq!(err.kind, ExportErrorKind::Retryable, "{protocol}: {err}");
        }
    }

    #[test]
    fn bad_urls_and_headers_are_rejected() {
        let bad_url =
            OtlpMetricsClient::new(Protocol::Grpc, "ftp://x", &[], Duration::from_secs(1));
        assert!(bad_url.is_err());
        let headers = [("bad header".to_owned(), "v".to_owned())];
        let bad_header =
            OtlpMetricsClient::new(Protocol::Grpc, "http://x", &headers, Duration::from_secs(1));
        assert!(bad_header.is_err());
    }
}
