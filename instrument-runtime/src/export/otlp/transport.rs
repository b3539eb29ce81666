//! Our OTLP client: one per signal, over gRPC (tonic's generic unary call, sending request
//! bodies already encoded, see [`RawCodec`]) or HTTP/protobuf (hyper HTTP/1.1, one kept-alive
//! connection), plain or TLS, gzip or not.
//!
//! Requests arrive encoded and cut under the byte limit (default 4 MiB, gRPC's default
//! receive limit): spans and logs by [`super::encode`], metrics by [`encode_metrics`]; a
//! single record over the limit is not sent and is counted as rejected, so one huge record
//! never poisons the sink. Responses are read for the
//! OTLP `partial_success` (gRPC and HTTP): rejected records become
//! [`ExportError::rejected`], the receiver's message is reported once through `diag::warn`.
//! `OUT_OF_RANGE`, `RESOURCE_EXHAUSTED` without `RetryInfo` and HTTP 413 mean "this request
//! is too big or over quota": the request's records are rejected (never retried, the breaker
//! stays closed); other failures are classified by [`super::classify`].

use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::bytes::{BufMut, Bytes, BytesMut};
use prost::Message;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;

use super::classify;
use super::config::{Compression, Protocol, SignalConfig};
use super::encode::{Encoded, Part};
use super::tls::TlsMaterial;
use crate::ExportError;

/// How much longer than the signal's deadline tonic's own timers are: ours fires first, so a
/// hang is reported as a timeout, not as whatever tonic makes of its timer.
const CLIENT_TIMEOUT_GRACE: Duration = Duration::from_secs(1);

/// Largest response body read (a partial-success answer is a few hundred bytes).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The OTLP export service of one signal, named by its request message.
pub(crate) trait OtlpRequest {
    /// The response message.
    type Response: Message + Default + Send + 'static;
    /// The gRPC method.
    const GRPC_PATH: &'static str;
    /// `rejected_*` and `error_message` of the response's partial success.
    fn partial_success(response: &Self::Response) -> Option<(i64, String)>;
}

/// A metrics request encoded as bodies of at most `limit` bytes each (its metrics split
/// into requests, one resource and scope each); a metric that alone exceeds the limit is left
/// out and counted. Data points are not records of the batch: the parts count 0 records.
pub(crate) fn encode_metrics(mut request: ExportMetricsServiceRequest, limit: usize) -> Encoded {
    let (parts, oversized) = if request.encoded_len() <= limit {
        (vec![request], 0)
    } else {
        split_metrics(&mut request, limit)
    };
    Encoded {
        parts: parts
            .into_iter()
            .map(|p| Part {
                body: Bytes::from(p.encode_to_vec()),
                records: 0,
            })
            .collect(),
        oversized,
    }
}

/// Splits `items` into runs whose encoded size (each item plus `overhead` bytes of
/// enclosing messages) stays under `limit`. Items that alone exceed it are counted and left out.
fn chunks<T: Message>(items: Vec<T>, limit: usize, overhead: usize) -> (Vec<Vec<T>>, u64) {
    let room = limit.saturating_sub(overhead);
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut size = 0usize;
    let mut oversized = 0u64;
    for item in items {
        // Field tag (1 byte) and length prefix (at most 10 bytes) around every item.
        let len = item.encoded_len() + 11;
        if len > room {
            oversized += 1;
            continue;
        }
        if size + len > room && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
        size += len;
        current.push(item);
    }
    if !current.is_empty() {
        out.push(current);
    }
    (out, oversized)
}

/// A metrics request cut into requests under `limit` (one resource and scope each, its
/// metrics cut into runs).
fn split_metrics(
    request: &mut ExportMetricsServiceRequest,
    limit: usize,
) -> (Vec<ExportMetricsServiceRequest>, u64) {
    let mut out = Vec::new();
    let mut oversized = 0;
    for mut resource in std::mem::take(&mut request.resource_metrics) {
        for mut scope in std::mem::take(&mut resource.scope_metrics) {
            let items = std::mem::take(&mut scope.metrics);
            let mut shell = resource.clone();
            shell.scope_metrics = vec![scope.clone()];
            let overhead = shell.encoded_len() + 32;
            let (runs, over) = chunks(items, limit, overhead);
            oversized += over;
            for run in runs {
                let mut part = shell.clone();
                part.scope_metrics[0].metrics = run;
                out.push(ExportMetricsServiceRequest {
                    resource_metrics: vec![part],
                });
            }
        }
    }
    (out, oversized)
}

impl OtlpRequest for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    const GRPC_PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    fn partial_success(response: &Self::Response) -> Option<(i64, String)> {
        let p = response.partial_success.as_ref()?;
        Some((p.rejected_spans, p.error_message.clone()))
    }
}

impl OtlpRequest for ExportLogsServiceRequest {
    type Response = ExportLogsServiceResponse;
    const GRPC_PATH: &'static str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    fn partial_success(response: &Self::Response) -> Option<(i64, String)> {
        let p = response.partial_success.as_ref()?;
        Some((p.rejected_log_records, p.error_message.clone()))
    }
}

impl OtlpRequest for ExportMetricsServiceRequest {
    type Response = ExportMetricsServiceResponse;
    const GRPC_PATH: &'static str =
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    fn partial_success(response: &Self::Response) -> Option<(i64, String)> {
        let p = response.partial_success.as_ref()?;
        Some((p.rejected_data_points, p.error_message.clone()))
    }
}

/// What one request's answer says.
#[derive(Debug, Default)]
struct Outcome {
    rejected: u64,
    messages: Vec<String>,
}

impl Outcome {
    fn reject(&mut self, count: u64, message: String) {
        self.rejected += count;
        if !message.is_empty() && !self.messages.contains(&message) {
            self.messages.push(message);
        }
    }
}

/// One signal's connection to the collector.
pub(crate) struct SignalClient {
    config: SignalConfig,
    /// The TLS material, or why it could not be loaded (then every export fails with it).
    tls: Result<TlsMaterial, String>,
    conn: Conn,
    /// Reused for gzip-compressed HTTP bodies.
    gzip: BytesMut,
}

enum Conn {
    None,
    Grpc(tonic::client::Grpc<Channel>),
    Http(Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>),
}

impl std::fmt::Debug for SignalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalClient")
            .field("url", &self.config.url)
            .field("protocol", &self.config.protocol)
            .finish_non_exhaustive()
    }
}

impl SignalClient {
    /// A client for `config`; connects nothing. A certificate file that cannot be used is
    /// reported once now, and each export then fails with that error.
    pub(crate) fn new(config: SignalConfig) -> SignalClient {
        let tls = TlsMaterial::load(&config.tls).map_err(|e| {
            let message = format!("OTLP {} TLS configuration: {e}", config.signal.name());
            crate::diag::warn(message.clone());
            message
        });
        SignalClient {
            config,
            tls,
            conn: Conn::None,
            gzip: BytesMut::new(),
        }
    }

    /// The signal's settings.
    pub(crate) fn config(&self) -> &SignalConfig {
        &self.config
    }

    /// Sends `request` (already cut under the byte limit), bounded by the signal's timeout.
    /// Must run inside a tokio runtime. Partial success and oversized records are one
    /// [`ExportError::rejected`] with the receiver's message (also reported once).
    pub(crate) async fn send<R: OtlpRequest>(
        &mut self,
        request: Encoded,
    ) -> Result<(), ExportError> {
        let timeout = self.config.timeout;
        let signal = self.config.signal.name();
        match tokio::time::timeout(timeout, self.send_all::<R>(request)).await {
            Ok(Ok(outcome)) if outcome.rejected == 0 && outcome.messages.is_empty() => Ok(()),
            Ok(Ok(outcome)) => {
                let said = outcome.messages.join("; ");
                // Reported once per distinct receiver message (diag::warn deduplicates), not
                // once per batch: the count is in the error, not in the warning.
                crate::diag::warn(format!("OTLP {signal} records rejected: {said}"));
                Err(ExportError::rejected(
                    outcome.rejected,
                    format!(
                        "the OTLP receiver rejected {} {signal} record(s): {said}",
                        outcome.rejected
                    ),
                ))
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ExportError::timeout(format!(
                "OTLP {signal} export did not finish within {timeout:?}"
            ))),
        }
    }

    async fn send_all<R: OtlpRequest>(&mut self, request: Encoded) -> Result<Outcome, ExportError> {
        let limit = self.config.max_request_bytes;
        let Encoded { parts, oversized } = request;
        let mut outcome = Outcome::default();
        if oversized > 0 {
            outcome.reject(
                oversized,
                format!("{oversized} record(s) over the {limit}-byte request limit were not sent"),
            );
        }
        for part in parts {
            let records = part.records;
            match self.send_one::<R>(part.body).await {
                Ok(Some((rejected, message))) => {
                    outcome.reject(u64::try_from(rejected).unwrap_or(0), message);
                }
                Ok(None) => {}
                // Too big or over quota: this request's records are lost, the sink is fine.
                Err(Refused(message)) => outcome.reject(records, message),
                Err(Failed(e)) => return Err(e),
            }
        }
        Ok(outcome)
    }

    async fn send_one<R: OtlpRequest>(
        &mut self,
        body: Bytes,
    ) -> Result<Option<(i64, String)>, SendError> {
        let tls = self
            .tls
            .as_ref()
            .map_err(|e| Failed(ExportError::permanent(e.clone())))?;
        match self.config.protocol {
            Protocol::Grpc => {
                if !matches!(self.conn, Conn::Grpc(_)) {
                    self.conn = Conn::Grpc(grpc_client(&self.config, tls).map_err(Failed)?);
                }
                let Conn::Grpc(grpc) = &mut self.conn else {
                    unreachable!("set above")
                };
                send_grpc::<R>(grpc, &self.config, body).await
            }
            Protocol::HttpProtobuf => {
                let body = match self.config.compression {
                    Compression::None => body,
                    Compression::Gzip => gzip(&body, &mut self.gzip).map_err(Failed)?,
                };
                let response = self.http_post(body, tls.clone()).await?;
                parse_http::<R>(response)
            }
        }
    }

    /// POSTs `body`, reusing the kept-alive connection; a request that fails on a reused
    /// connection (the server closed it while idle) is sent once more on a new one.
    async fn http_post(
        &mut self,
        body: Bytes,
        tls: TlsMaterial,
    ) -> Result<HttpResponse, SendError> {
        for attempt in 0..2 {
            let reused = matches!(&self.conn, Conn::Http(Some(s)) if !s.is_closed());
            if !reused {
                let sender = http_connect(&self.config, &tls).await.map_err(Failed)?;
                self.conn = Conn::Http(Some(sender));
            }
            let Conn::Http(Some(sender)) = &mut self.conn else {
                unreachable!("set above")
            };
            let request = http_request(&self.config, body.clone()).map_err(Failed)?;
            let result = match sender.ready().await {
                Ok(()) => sender.send_request(request).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(response) => return read_response(response).await.map_err(Failed),
                Err(e) => {
                    self.conn = Conn::Http(None);
                    if !(reused && attempt == 0) {
                        return Err(Failed(ExportError::retryable(format!(
                            "HTTP request to {} failed: {}",
                            self.config.url,
                            chain(&e)
                        ))));
                    }
                }
            }
        }
        Err(Failed(ExportError::retryable("HTTP request failed twice")))
    }
}

/// Why a request was not delivered.
enum SendError {
    /// The receiver refused this request for its size or quota: its records are rejected.
    Refused(String),
    /// Any other failure, classified.
    Failed(ExportError),
}
use SendError::{Failed, Refused};

/// `raw` gzip-compressed, written into `buf` (reused: its allocation is reclaimed once the
/// previous body is dropped).
fn gzip(raw: &[u8], buf: &mut BytesMut) -> Result<Bytes, ExportError> {
    buf.clear();
    buf.reserve(raw.len() / 4 + 64);
    let mut encoder =
        flate2::write::GzEncoder::new(std::mem::take(buf).writer(), flate2::Compression::fast());
    let written = encoder.write_all(raw).and_then(|()| encoder.finish());
    match written {
        Ok(writer) => {
            *buf = writer.into_inner();
            Ok(buf.split().freeze())
        }
        Err(e) => Err(ExportError::permanent(format!("gzip failed: {e}"))),
    }
}

/// A tonic codec that sends request bodies already encoded (by [`super::encode`] or
/// [`encode_metrics`]) and decodes the response with prost.
struct RawCodec<U>(std::marker::PhantomData<U>);

impl<U: Message + Default + Send + 'static> tonic::codec::Codec for RawCodec<U> {
    type Encode = Bytes;
    type Decode = U;
    type Encoder = RawEncoder;
    type Decoder = tonic_prost::ProstDecoder<U>;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

/// Copies an encoded body into tonic's frame buffer.
struct RawEncoder;

impl tonic::codec::Encoder for RawEncoder {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

fn grpc_client(
    config: &SignalConfig,
    tls: &TlsMaterial,
) -> Result<tonic::client::Grpc<Channel>, ExportError> {
    let channel = grpc_channel(
        &config.url,
        config.timeout + CLIENT_TIMEOUT_GRACE,
        Some(tls),
    )
    .map_err(ExportError::permanent)?;
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(MAX_RESPONSE_BYTES)
        .max_encoding_message_size(usize::MAX);
    if config.compression == Compression::Gzip {
        grpc = grpc.send_compressed(CompressionEncoding::Gzip);
    }
    Ok(grpc.accept_compressed(CompressionEncoding::Gzip))
}

/// A lazily connecting tonic channel (TLS for `https://`). Must run inside a tokio runtime.
pub(crate) fn grpc_channel(
    url: &str,
    timeout: Duration,
    tls: Option<&TlsMaterial>,
) -> Result<Channel, String> {
    let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|e| format!("invalid gRPC endpoint {url:?}: {e}"))?
        .timeout(timeout)
        .connect_timeout(timeout)
        .tcp_nodelay(true);
    if url.starts_with("https://") {
        let tls = tls.cloned().unwrap_or_default();
        endpoint = endpoint
            .tls_config(tls.tonic_config())
            .map_err(|e| format!("TLS setup for {url:?} failed: {}", chain(&e)))?;
    }
    Ok(endpoint.connect_lazy())
}

async fn send_grpc<R: OtlpRequest>(
    grpc: &mut tonic::client::Grpc<Channel>,
    config: &SignalConfig,
    body: Bytes,
) -> Result<Option<(i64, String)>, SendError> {
    grpc.ready().await.map_err(|e| {
        Failed(ExportError::retryable(format!(
            "gRPC connection to {} failed: {}",
            config.url,
            chain(&e)
        )))
    })?;
    let mut request = tonic::Request::new(body);
    *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(
        super::metrics_client::header_map(&config.headers),
    );
    request.set_timeout(config.timeout + CLIENT_TIMEOUT_GRACE);
    let path = http::uri::PathAndQuery::from_static(R::GRPC_PATH);
    let codec = RawCodec::<R::Response>(std::marker::PhantomData);
    match grpc.unary(request, path, codec).await {
        Ok(response) => Ok(R::partial_success(response.get_ref())),
        Err(status) => Err(grpc_failure(&status, &config.url)),
    }
}

fn grpc_failure(status: &tonic::Status, url: &str) -> SendError {
    use tonic_types::StatusExt;
    let retry_info = status.get_details_retry_info().is_some();
    match status.code() {
        tonic::Code::OutOfRange => Refused(format!("gRPC OutOfRange: {}", status.message())),
        tonic::Code::ResourceExhausted if !retry_info => {
            Refused(format!("gRPC ResourceExhausted: {}", status.message()))
        }
        _ => {
            let mut error = classify::from_grpc_status(status);
            if let Some(source) = std::error::Error::source(status) {
                let cause = chain(source);
                // A certificate the TLS handshake refused does not fix itself by retrying,
                // as over HTTP.
                if cause.contains("invalid peer certificate") {
                    error = ExportError::permanent(format!(
                        "TLS handshake with {url} failed: {cause} (check \
                         OTEL_EXPORTER_OTLP_CERTIFICATE and the client certificate)"
                    ));
                } else {
                    let _ = write!(error.message, " ({url}: {cause})");
                }
            }
            Failed(error)
        }
    }
}

/// An object-safe stream: plain TCP or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Connects (TCP, then TLS for `https://`), handshakes HTTP/1.1 and spawns the connection
/// task on the current runtime.
async fn http_connect(
    config: &SignalConfig,
    tls: &TlsMaterial,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, ExportError> {
    let uri: http::Uri = config
        .url
        .parse()
        .map_err(|e| ExportError::permanent(format!("invalid URL {:?}: {e}", config.url)))?;
    let https = uri.scheme_str() == Some("https");
    let host = uri
        .host()
        .unwrap_or("localhost")
        .trim_matches(['[', ']'])
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| ExportError::retryable(format!("cannot connect to {host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let stream: Pin<Box<dyn Io>> = if https {
        let tls_config = tls
            .rustls_config(&[b"http/1.1"])
            .map_err(ExportError::permanent)?;
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| ExportError::permanent(format!("bad TLS server name {host:?}: {e}")))?;
        let connector = tokio_rustls::TlsConnector::from(tls_config);
        let stream = connector.connect(name, tcp).await.map_err(|e| {
            ExportError::permanent(format!(
                "TLS handshake with {host}:{port} failed: {} (check OTEL_EXPORTER_OTLP_CERTIFICATE \
                 and the client certificate)",
                chain(&e)
            ))
        })?;
        Box::pin(stream)
    } else {
        Box::pin(tcp)
    };
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| ExportError::retryable(format!("HTTP handshake failed: {}", chain(&e))))?;
    tokio::spawn(async move {
        // Ends when the server closes the connection or the exporter runtime stops.
        let _ = connection.await;
    });
    Ok(sender)
}

fn http_request(
    config: &SignalConfig,
    body: Bytes,
) -> Result<http::Request<Full<Bytes>>, ExportError> {
    let uri: http::Uri = config
        .url
        .parse()
        .map_err(|e| ExportError::permanent(format!("invalid URL {:?}: {e}", config.url)))?;
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let mut builder = http::Request::post(path)
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/x-protobuf")
        .header(
            http::header::USER_AGENT,
            concat!("instrument-runtime/", env!("CARGO_PKG_VERSION")),
        );
    if config.compression == Compression::Gzip {
        builder = builder.header(http::header::CONTENT_ENCODING, "gzip");
    }
    let mut request = builder
        .body(Full::new(body))
        .map_err(|e| ExportError::permanent(format!("cannot build the request: {e}")))?;
    request
        .headers_mut()
        .extend(super::metrics_client::header_map(&config.headers));
    Ok(request)
}

struct HttpResponse {
    status: u16,
    retry_after: Option<String>,
    body: Bytes,
}

async fn read_response(
    response: http::Response<hyper::body::Incoming>,
) -> Result<HttpResponse, ExportError> {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let limited = http_body_util::Limited::new(response.into_body(), MAX_RESPONSE_BYTES);
    let body = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        // An unreadable or oversized body: the status still says what happened.
        Err(_) => Bytes::new(),
    };
    Ok(HttpResponse {
        status,
        retry_after,
        body,
    })
}

fn parse_http<R: OtlpRequest>(response: HttpResponse) -> Result<Option<(i64, String)>, SendError> {
    match response.status {
        200..=299 => Ok(R::Response::decode(response.body)
            .ok()
            .and_then(|r| R::partial_success(&r))),
        413 => Err(Refused("HTTP 413 Payload Too Large".to_owned())),
        status => Err(Failed(classify::from_http_status(
            status,
            response.retry_after.as_deref(),
        ))),
    }
}

/// An error and its sources, `: `-separated (TLS and connection errors hide the cause there).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            let _ = write!(text, ": {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// A boxed future, for the exporter's concurrent sends.
pub(crate) type Pending<'a> = Pin<Box<dyn Future<Output = Result<(), ExportError>> + Send + 'a>>;

/// Sends `request` if there is one.
pub(crate) fn send_opt<R: OtlpRequest>(
    client: &mut SignalClient,
    request: Option<Encoded>,
) -> Pending<'_> {
    Box::pin(async move {
        match request {
            Some(request) => client.send::<R>(request).await,
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};

    fn request(metrics: usize, name_len: usize) -> ExportMetricsServiceRequest {
        let metric = Metric {
            name: "x".repeat(name_len),
            ..Metric::default()
        };
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![metric; metrics],
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            }],
        }
    }

    fn metrics_in(part: &Part) -> usize {
        let r = ExportMetricsServiceRequest::decode(part.body.clone()).unwrap();
        r.resource_metrics[0].scope_metrics[0].metrics.len()
    }

    #[test]
    fn small_metric_requests_are_sent_whole() {
        let encoded = encode_metrics(request(10, 10), 4096);
        assert_eq!((encoded.parts.len(), encoded.oversized), (1, 0));
        assert_eq!(metrics_in(&encoded.parts[0]), 10);
    }

    #[test]
    fn big_metric_requests_are_split_under_the_limit_and_keep_every_metric() {
        let encoded = encode_metrics(request(1000, 1000), 64 * 1024);
        assert_eq!(encoded.oversized, 0);
        assert!(encoded.parts.len() > 10, "{}", encoded.parts.len());
        assert!(encoded.parts.iter().all(|p| p.body.len() <= 64 * 1024));
        assert_eq!(encoded.parts.iter().map(metrics_in).sum::<usize>(), 1000);
    }

    #[test]
    fn a_metric_over_the_limit_is_left_out_and_counted() {
        let mut req = request(5, 10);
        req.resource_metrics[0].scope_metrics[0].metrics[2].name = "y".repeat(10_000);
        let encoded = encode_metrics(req, 4096);
        assert_eq!(encoded.oversized, 1);
        assert_eq!(encoded.parts.iter().map(metrics_in).sum::<usize>(), 4);
    }

    #[test]
    fn gzip_bodies_decompress_to_the_request_with_the_buffer_reused() {
        let raw = request(3, 20).encode_to_vec();
        let mut buf = BytesMut::new();
        for _ in 0..3 {
            let body = gzip(&raw, &mut buf).unwrap();
            let mut back = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut back)
                .unwrap();
            assert_eq!(back, raw);
        }
    }
}
