//! OTLP export, and a bridge to any OpenTelemetry SDK exporter (feature `otlp`).
//!
//! - [`OtelBridge`] hands our batches to `opentelemetry_sdk` exporters: spans to any
//!   [`SpanExporter`](opentelemetry_sdk::trace::SpanExporter), log records to any
//!   [`LogExporter`](opentelemetry_sdk::logs::LogExporter), metric snapshots to a
//!   [`ProtoMetricsExporter`]. Jaeger, Zipkin or vendor span exporters plug in here.
//! - [`OtlpExporter`] sends our records as OTLP over gRPC or HTTP/protobuf (the default, as
//!   the OTLP spec says), plain or TLS (rustls), gzip or not, configured by
//!   [`OtlpExporter::builder`] or every `OTEL_EXPORTER_OTLP_*` variable of the OTLP exporter
//!   spec, generic and per signal ([`OtlpExporter::from_env`]).
//!
//! # Why our own OTLP client, not opentelemetry-otlp
//!
//! Cargo unifies features across the dependency graph. opentelemetry-otlp picks its default
//! HTTP client by feature: with `reqwest-client` on (which its `with_http_client` needs for
//! reqwest) an application's own `SpanExporter::builder().with_http().build()` gets the async
//! reqwest client instead of the blocking one, and the SDK's thread-based batch processor
//! then panics ("there is no reactor running") and exports nothing. So this crate does not
//! depend on opentelemetry-otlp at all: spans and log records are encoded straight into OTLP
//! protobuf bytes (metric snapshots into the generated `opentelemetry-proto` messages) and
//! sent by our client (`transport.rs`): tonic's generic
//! unary call for gRPC, hyper HTTP/1.1 for HTTP/protobuf, rustls with the `ring` provider
//! passed explicitly (never rustls' process default), flate2 for gzip. None of these change
//! what another crate's code does (tests/tests/otlp_sdk_alongside.rs runs the SDK's batch
//! processor with its default client beside us).
//!
//! # How it runs
//!
//! The runtime calls exporters on its one exporter thread, synchronously. The network clients
//! are async, so each exporter owns a private `current_thread` tokio runtime, created lazily on
//! that thread at the first export and shut down there by
//! [`Exporter::shutdown`](crate::Exporter::shutdown) or drop; it never uses (or needs) the
//! application's runtime, so building an exporter works from plain `main` or from inside any
//! runtime.
//!
//! Each [`Exporter::export`](crate::Exporter::export) sends the batch's spans, logs and
//! metrics concurrently, each bounded by its signal's deadline (default
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s); past it the call returns
//! [`ExportErrorKind::Timeout`](crate::ExportErrorKind::Timeout). Nothing is retried inside;
//! failures are classified by the OTLP spec's rules (retryable: gRPC `UNAVAILABLE`,
//! `DEADLINE_EXCEEDED`, `CANCELLED`, `ABORTED`, `DATA_LOSS`, `RESOURCE_EXHAUSTED` with
//! `RetryInfo`; HTTP 429/502/503/504; connection failures — everything else permanent), so
//! the exporter thread owns retry, backoff and circuit breaking for every exporter alike.
//! An HTTP `Retry-After` is reported in the error message as `retry-after=<n>s`.
//!
//! # What the receiver says
//!
//! - Partial success (`rejected_spans`, `rejected_log_records`, `rejected_data_points`, over
//!   gRPC and HTTP) becomes [`ExportError::rejected`](crate::ExportError::rejected): the
//!   rejected records are dropped with reason `rejected`, the rest count as exported, and
//!   the receiver's message is reported once (`diag::warn`). Rejected metric data points are
//!   reported, not counted against spans or logs.
//! - Requests are kept under [`DEFAULT_MAX_REQUEST_BYTES`] (4 MiB, gRPC's default receive
//!   limit; [`OtlpExporterBuilder::max_request_bytes`]) by splitting the batch; a single
//!   record over the limit is rejected. gRPC `OUT_OF_RANGE`, `RESOURCE_EXHAUSTED` without
//!   `RetryInfo` and HTTP 413 reject that request's records: never retried, and the circuit
//!   breaker stays closed, so one oversized batch never blocks the small ones after it.
//!
//! # Why metrics do not go through `opentelemetry_sdk`
//!
//! In opentelemetry_sdk 0.33 the metric data types (`ResourceMetrics`, `ScopeMetrics`,
//! `Metric`, `Sum`, `Histogram`, `HistogramDataPoint`, ...) have only `pub(crate)` fields and
//! no public constructor, and no crate feature changes that; only the SDK's own aggregation
//! can produce them, so no `PushMetricExporter` can be handed our snapshots. So snapshots are
//! converted exactly into the generated protobuf types, and the bridge's metrics interface is
//! [`ProtoMetricsExporter`], which takes an `ExportMetricsServiceRequest`
//! ([`OtlpMetricsClient`] sends one over OTLP).
//!
//! # Details
//!
//! - Spans: their kind (`Internal` unless set), parent local, events, links, status and
//!   dropped counts; `code.file.path` and `code.line.number` added unless
//!   [`OtlpExporterBuilder::code_attributes`] is off; scope `instrument-runtime` with this
//!   crate's version.
//! - Encoding: spans and log records are written straight as protobuf bytes into one buffer
//!   per exporter (no `opentelemetry-proto` message tree, no per-record allocation), the
//!   resource encoded once per change; the batch is cut into requests under the byte limit
//!   as it is encoded. gRPC sends these bytes as they are (a raw tonic codec).
//! - Log records: `time_unix_nano` and `observed_time_unix_nano` both set, trace context
//!   from our ids, the `log` target as the record's scope name (as the OpenTelemetry `log`
//!   appenders do).
//! - Resource: [`detected_attributes`] (`service.instance.id`, new in a forked child,
//!   `host.name`, `process.pid`, `process.runtime.*`, `telemetry.sdk.*`) under the batch's
//!   resource (`service.name`, `OTEL_RESOURCE_ATTRIBUTES`, builder attributes), which wins.
//! - Metrics temporality: cumulative by default; `delta` or `lowmemory`
//!   (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, [`OtlpExporterBuilder::temporality`])
//!   sends counters and histograms as exact deltas since the last delivered export (see
//!   [`Temporality`]).
//! - Histograms: explicit buckets by default; base-2 exponential ones
//!   ([`ENV_HISTOGRAM_AGGREGATION`]` = base2_exponential_bucket_histogram`, read at install, or
//!   [`Builder::exponential_histograms`](crate::Builder::exponential_histograms)) are sent as
//!   OTLP `ExponentialHistogram` points, downscaled exactly to
//!   [`OtlpExporterBuilder::exponential_max_size`] buckets.
//! - No `http/json`.

mod bridge;
mod classify;
mod config;
mod convert;
mod encode;
mod exporter;
mod metrics;
mod metrics_client;
#[cfg(test)]
mod proto;
mod runtime;
mod temporality;
mod tls;
mod transport;

pub use crate::config::ENV_HISTOGRAM_AGGREGATION;
pub use crate::resource::detected_attributes;
pub use bridge::{Classifier, OtelBridge, OtelBridgeBuilder};
pub use classify::classify_sdk_error;
pub use config::{
    Compression, OtlpConfigError, Protocol, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_TIMEOUT,
    ENV_CERTIFICATE, ENV_CLIENT_CERTIFICATE, ENV_CLIENT_KEY, ENV_COMPRESSION, ENV_ENDPOINT,
    ENV_HEADERS, ENV_PROTOCOL, ENV_TEMPORALITY, ENV_TIMEOUT,
};
pub use exporter::{OtlpExporter, OtlpExporterBuilder};
pub use metrics_client::{BoxFuture, OtlpMetricsClient, ProtoMetricsExporter};
pub use temporality::Temporality;
