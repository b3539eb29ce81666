//! Our OTLP client: one per signal, over gRPC (tonic's generic unary call with the generated
//! `opentelemetry-proto` messages) or HTTP/protobuf (hyper HTTP/1.1, one kept-alive
//! connection), plain or TLS, gzip or not.
//!
//! Every request is checked against a byte limit (default 4 MiB, gRPC's default receive
//! limit) and split into requests under it; a single record over the limit is not sent and is
//! counted as rejected, so one huge record never poisons the sink. Responses are read for the
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
use hyper::body::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;

use super::classify;
use super::config::{Compression, Protocol, SignalConfig};
use super::tls::TlsMaterial;
use crate::ExportError;

/// How much longer than the signal's deadline tonic's own timers are: ours fires first, so a
/// hang is reported as a timeout, not as whatever tonic makes of its timer.
const CLIENT_TIMEOUT_GRACE: Duration = Duration::from_secs(1);

/// Largest response body read (a partial-success answer is a few hundred bytes).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// An OTLP export request of one signal.
pub(crate) trait OtlpRequest: Message + Default + Clone + Send + 'static {
    /// The response message.
    type Response: Message + Default + Send + 'static;
    /// The gRPC method.
    const GRPC_PATH: &'static str;
    /// `rejected_*` and `error_message` of the response's partial success.
    fn partial_success(response: &Self::Response) -> Option<(i64, String)>;
    /// Records in the request (spans, log records, data points).
    fn records(&self) -> u64;
    /// The request's records split into requests of at most `limit` encoded bytes each;
    /// the second value counts records that alone exceed the limit (left out).
    fn split(self, limit: usize) -> (Vec<Self>, u64);
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

/// The splitting every signal shares: one resource and scope per request (as we build
/// them), its records cut into runs; `get` takes the records out, `put` builds a request
/// around a run.
macro_rules! split_impl {
    ($self:ident, $limit:ident, $resource:ident, $scope:ident, $items:ident) => {{
        if $self.encoded_len() <= $limit {
            return (vec![$self], 0);
        }
        let mut out = Vec::new();
        let mut oversized = 0;
        for mut resource in std::mem::take(&mut $self.$resource) {
            for mut scope in std::mem::take(&mut resource.$scope) {
                let items = std::mem::take(&mut scope.$items);
                let mut shell = resource.clone();
                shell.$scope = vec![scope.clone()];
                let overhead = shell.encoded_len() + 32;
                let (runs, over) = chunks(items, $limit, overhead);
                oversized += over;
                for run in runs {
                    let mut part = shell.clone();
                    part.$scope[0].$items = run;
                    out.push(Self {
                        $resource: vec![part],
                    });
                }
            }
        }
        (out, oversized)
    }};
}

impl OtlpRequest for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    const GRPC_PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    fn partial_success(response: &Self::Response) -> Option<(i64, String)> {
        let p = response.partial_success.as_ref()?;
        Some((p.rejected_spans, p.error_message.clone()))
    }
    fn records(&self) -> u64 {
        let spans = self.resource_spans.iter().flat_map(|r| &r.scope_spans);
        spans.map(|s| s.spans.len() as u64).sum()
    }
    fn split(mut self, limit: usize) -> (Vec<Self>, u64) {
        split_impl!(self, limit, resource_spans, scope_spans, spans)
    }
}

impl OtlpRequest for ExportLogsServiceRequest {
    type Response = ExportLogsServiceResponse;
    const GRPC_PATH: &'static str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    fn partial_success(response: &Self::Response) -> Option<(i64, String)> {
        let p = response.partial_success.as_ref()?;
        Some((p.rejected_log_records, p.error_message.clone()))
    }
    fn records(&self) -> u64 {
        let logs = self.resource_logs.iter().flat_map(|r| &r.scope_logs);
        logs.map(|s| s.log_records.len() as u64).sum()
    }
    fn split(mut self, limit: usize) -> (Vec<Self>, u64) {
        split_impl!(self, limit, resource_logs, scope_logs, log_records)
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
    fn records(&self) -> u64 {
        // Metric snapshots are not records of the batch (records are spans and logs): a
        // rejected data point is reported, not counted against spans or logs.
        0
    }
    fn split(mut self, limit: usize) -> (Vec<Self>, u64) {
        split_impl!(self, limit, resource_metrics, scope_metrics, metrics)
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
        }
    }

    /// The signal's settings.
    pub(crate) fn config(&self) -> &SignalConfig {
        &self.config
    }

    /// Sends `request` (split under the byte limit), bounded by the signal's timeout. Must run
    /// inside a tokio runtime. Partial success and oversized records are one
    /// [`ExportError::rejected`] with the receiver's message (also reported once).
    pub(crate) async fn send<R: OtlpRequest>(&mut self, request: R) -> Result<(), ExportError> {
        let timeout = self.config.timeout;
        let signal = self.config.signal.name();
        match tokio::time::timeout(timeout, self.send_all(request)).await {
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

    async fn send_all<R: OtlpRequest>(&mut self, request: R) -> Result<Outcome, ExportError> {
        let limit = self.config.max_request_bytes;
        let (parts, oversized) = request.split(limit);
        let mut outcome = Outcome::default();
        if oversized > 0 {
            outcome.reject(
                oversized,
                format!("{oversized} record(s) over the {limit}-byte request limit were not sent"),
            );
        }
        for part in parts {
            let records = part.records();
            match self.send_one(part).await {
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
        request: R,
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
                send_grpc(grpc, &self.config, request).await
            }
            Protocol::HttpProtobuf => {
                let body = encode_body(&request, self.config.compression).map_err(Failed)?;
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

/// The request body, gzip-compressed if asked.
fn encode_body<R: Message>(request: &R, compression: Compression) -> Result<Bytes, ExportError> {
    let raw = request.encode_to_vec();
    match compression {
        Compression::None => Ok(Bytes::from(raw)),
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(raw.len() / 4),
                flate2::Compression::fast(),
            );
            encoder
                .write_all(&raw)
                .and_then(|()| encoder.finish())
                .map(Bytes::from)
                .map_err(|e| ExportError::permanent(format!("gzip failed: {e}")))
        }
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
    message: R,
) -> Result<Option<(i64, String)>, SendError> {
    grpc.ready().await.map_err(|e| {
        Failed(ExportError::retryable(format!(
            "gRPC connection to {} failed: {}",
            config.url,
            chain(&e)
        )))
    })?;
    let mut request = tonic::Request::new(message);
    *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(
        super::metrics_client::header_map(&config.headers),
    );
    request.set_timeout(config.timeout + CLIENT_TIMEOUT_GRACE);
    let path = http::uri::PathAndQuery::from_static(R::GRPC_PATH);
    let codec = tonic_prost::ProstCodec::<R, R::Response>::default();
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
pub(crate) fn send_opt<'a, R: OtlpRequest>(
    client: &'a mut SignalClient,
    request: Option<R>,
) -> Pending<'a> {
    Box::pin(async move {
        match request {
            Some(request) => client.send(request).await,
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn request(spans: usize, name_len: usize) -> ExportTraceServiceRequest {
        let span = Span {
            name: "x".repeat(name_len),
            ..Span::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span; spans],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    #[test]
    fn small_requests_are_sent_whole() {
        let (parts, over) = request(10, 10).split(4096);
        assert_eq!((parts.len(), over), (1, 0));
        assert_eq!(parts[0].records(), 10);
    }

    #[test]
    fn big_requests_are_split_under_the_limit_and_keep_every_record() {
        let (parts, over) = request(1000, 1000).split(64 * 1024);
        assert_eq!(over, 0);
        assert!(parts.len() > 10, "{}", parts.len());
        assert!(parts.iter().all(|p| p.encoded_len() <= 64 * 1024));
        assert_eq!(parts.iter().map(OtlpRequest::records).sum::<u64>(), 1000);
    }

    #[test]
    fn a_record_over_the_limit_is_left_out_and_counted() {
        let mut req = request(5, 10);
        req.resource_spans[0].scope_spans[0].spans[2].name = "y".repeat(10_000);
        let (parts, over) = req.split(4096);
        assert_eq!(over, 1);
        assert_eq!(parts.iter().map(OtlpRequest::records).sum::<u64>(), 4);
    }

    #[test]
    fn gzip_bodies_decompress_to_the_request() {
        let req = request(3, 20);
        let body = encode_body(&req, Compression::Gzip).unwrap();
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut raw).unwrap();
        assert_eq!(ExportTraceServiceRequest::decode(&raw[..]).unwrap(), req);
    }
}
