//! Sending OTLP metric requests: the [`ProtoMetricsExporter`] trait and its OTLP client.
//!
//! The wire work is done by generated and library code: the request is an
//! `opentelemetry-proto` message; over gRPC it goes through the generated tonic
//! `MetricsServiceClient`, over HTTP it is `prost`-encoded and POSTed with
//! `Content-Type: application/x-protobuf` to `/v1/metrics` (OTLP/HTTP, binary protobuf
//! encoding), by reqwest, the client opentelemetry-otlp uses for the other signals.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use super::classify;
use super::config::{check_endpoint, check_header, OtlpConfigError, Protocol};
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

/// Sends metric requests to an OTLP endpoint over gRPC or HTTP/protobuf.
pub struct OtlpMetricsClient {
    transport: Transport,
}

enum Transport {
    Grpc {
        client: GrpcClient,
        metadata: MetadataMap,
        timeout: Duration,
    },
    Http {
        client: reqwest::Client,
        url: String,
        headers: http::HeaderMap,
    },
}

/// tonic's lazy channel spawns a task, so it is created on first export, inside the
/// bridge's runtime, unless one was handed over.
enum GrpcClient {
    NotConnected { url: String },
    Ready(MetricsServiceClient<Channel>),
}

impl fmt::Debug for OtlpMetricsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (protocol, url) = match &self.transport {
            Transport::Grpc {
                client: GrpcClient::NotConnected { url },
                ..
            } => ("grpc", url.as_str()),
            Transport::Grpc { .. } => ("grpc", "<channel>"),
            Transport::Http { url, .. } => ("http/protobuf", url.as_str()),
        };
        f.debug_struct("OtlpMetricsClient")
            .field("protocol", &protocol)
            .field("url", &url)
            .finish_non_exhaustive()
    }
}

impl OtlpMetricsClient {
    /// A client for `url` (for HTTP the full URL, usually ending in `/v1/metrics`), sending
    /// `headers` with every request; `timeout` bounds the client's own waits. Nothing
    /// connects before the first export.
    pub fn new(
        protocol: Protocol,
        url: &str,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<Self, OtlpConfigError> {
        check_endpoint(url).map_err(OtlpConfigError::from_message)?;
        for (name, value) in headers {
            check_header(name, value).map_err(OtlpConfigError::from_message)?;
        }
        let header_map = header_map(headers);
        Ok(match protocol {
            Protocol::Grpc => OtlpMetricsClient::grpc(
                GrpcClient::NotConnected { url: url.into() },
                header_map,
                timeout,
            ),
            Protocol::HttpProtobuf => {
                let client = http_client(timeout).map_err(OtlpConfigError::from_message)?;
                OtlpMetricsClient::http(client, url.to_owned(), header_map)
            }
        })
    }

    /// A gRPC client on an existing channel (shared with the other signals).
    pub(crate) fn with_channel(
        channel: Channel,
        headers: http::HeaderMap,
        timeout: Duration,
    ) -> Self {
        let client = GrpcClient::Ready(MetricsServiceClient::new(channel));
        OtlpMetricsClient::grpc(client, headers, timeout)
    }

    /// An HTTP client on an existing reqwest client (shared with the other signals).
    pub(crate) fn with_http_client(
        client: reqwest::Client,
        url: String,
        headers: http::HeaderMap,
    ) -> Self {
        OtlpMetricsClient::http(client, url, headers)
    }

    fn grpc(client: GrpcClient, headers: http::HeaderMap, timeout: Duration) -> Self {
        let metadata = MetadataMap::from_headers(headers);
        OtlpMetricsClient {
            transport: Transport::Grpc {
                client,
                metadata,
                timeout,
            },
        }
    }

    fn http(client: reqwest::Client, url: String, headers: http::HeaderMap) -> Self {
        OtlpMetricsClient {
            transport: Transport::Http {
                client,
                url,
                headers,
            },
        }
    }
}

impl ProtoMetricsExporter for OtlpMetricsClient {
    fn export(
        &mut self,
        request: ExportMetricsServiceRequest,
    ) -> BoxFuture<'_, Result<(), ExportError>> {
        match &mut self.transport {
            Transport::Grpc {
                client,
                metadata,
                timeout,
            } => Box::pin(export_grpc(client, metadata, *timeout, request)),
            Transport::Http {
                client,
                url,
                headers,
            } => Box::pin(export_http(client, url, headers, request)),
        }
    }
}

async fn export_grpc(
    client: &mut GrpcClient,
    metadata: &MetadataMap,
    timeout: Duration,
    request: ExportMetricsServiceRequest,
) -> Result<(), ExportError> {
    if let GrpcClient::NotConnected { url } = client {
        let channel = grpc_channel(url, timeout).map_err(ExportError::permanent)?;
        *client = GrpcClient::Ready(MetricsServiceClient::new(channel));
    }
    let GrpcClient::Ready(client) = client else {
        return Err(ExportError::permanent(
            "gRPC metrics client is not connected",
        ));
    };
    let mut request = tonic::Request::new(request);
    *request.metadata_mut() = metadata.clone();
    request.set_timeout(timeout);
    match client.export(request).await {
        Ok(_) => Ok(()),
        Err(status) => Err(classify::from_grpc_status(&status)),
    }
}

async fn export_http(
    client: &reqwest::Client,
    url: &str,
    headers: &http::HeaderMap,
    request: ExportMetricsServiceRequest,
) -> Result<(), ExportError> {
    let body = prost::Message::encode_to_vec(&request);
    let response = client
        .post(url)
        .headers(headers.clone())
        .header(http::header::CONTENT_TYPE, "application/x-protobuf")
        .body(body)
        .send()
        .await
        .map_err(|e| classify::from_transport_error(&e))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Read the (small) body so the connection can be reused; its content does not matter.
    let _ = response.bytes().await;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(classify::from_http_status(status, retry_after.as_deref()))
    }
}

/// A lazily connecting tonic channel. Must be called inside a tokio runtime context.
pub(crate) fn grpc_channel(url: &str, timeout: Duration) -> Result<Channel, String> {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|e| format!("invalid gRPC endpoint {url:?}: {e}"))?;
    Ok(endpoint
        .timeout(timeout)
        .connect_timeout(timeout)
        .connect_lazy())
}

/// The async reqwest client every HTTP signal shares (one connection pool).
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
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
            OtlpMetricsClient::new(Protocol::Grpc, "https://x", &[], Duration::from_secs(1));
        assert!(bad_url.is_err());
        let headers = [("bad header".to_owned(), "v".to_owned())];
        let bad_header =
            OtlpMetricsClient::new(Protocol::Grpc, "http://x", &headers, Duration::from_secs(1));
        assert!(bad_header.is_err());
    }
}
