//! OTLP export, and a bridge to any OpenTelemetry SDK exporter (feature `otlp`).
//!
//! - [`OtelBridge`] hands our batches to `opentelemetry_sdk` exporters: spans to any
//!   [`SpanExporter`](opentelemetry_sdk::trace::SpanExporter), log records to any
//!   [`LogExporter`](opentelemetry_sdk::logs::LogExporter), metric snapshots to a
//!   [`ProtoMetricsExporter`]. Jaeger, Zipkin or vendor span exporters plug in here.
//! - [`OtlpExporter`] is that bridge wired to OTLP over gRPC (tonic) or HTTP/protobuf,
//!   configured by [`OtlpExporter::builder`] or the `OTEL_EXPORTER_OTLP_*` variables
//!   ([`OtlpExporter::from_env`]).
//!
//! # How it runs
//!
//! The runtime calls exporters on its one exporter thread, synchronously. The network clients
//! are async, so the bridge owns a private `current_thread` tokio runtime, created lazily on
//! that thread at the first export and shut down there by
//! [`Exporter::shutdown`](crate::Exporter::shutdown) or drop; it never uses (or needs) the
//! application's runtime, so building an exporter works from plain `main` or from inside any
//! runtime. Exporters that need a tokio context to be *built* (tonic channels) are built at
//! first use inside that runtime (`*_exporter_with`).
//!
//! Each [`Exporter::export`](crate::Exporter::export) sends the batch's spans, logs and
//! metrics concurrently and is
//! bounded by one deadline (default `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s); past it the
//! call returns [`ExportErrorKind::Timeout`](crate::ExportErrorKind::Timeout). Nothing is
//! retried inside: opentelemetry-otlp's retry policy is set to
//! [`RetryPolicy::disabled`](opentelemetry_otlp::RetryPolicy::disabled), and failures are
//! classified by the OTLP spec's rules (retryable: gRPC `UNAVAILABLE`, `DEADLINE_EXCEEDED`,
//! `CANCELLED`, `ABORTED`, `OUT_OF_RANGE`, `DATA_LOSS`, `RESOURCE_EXHAUSTED` with
//! `RetryInfo`; HTTP 429/502/503/504; connection failures — everything else permanent), so
//! the exporter thread owns retry, backoff and circuit breaking for every exporter alike.
//! An HTTP `Retry-After` is reported in the error message as `retry-after=<n>s`.
//!
//! # Why metrics do not go through `opentelemetry_sdk`
//!
//! In opentelemetry_sdk 0.33 the metric data types (`ResourceMetrics`, `ScopeMetrics`,
//! `Metric`, `Sum`, `Histogram`, `HistogramDataPoint`, ...) have only `pub(crate)` fields and
//! no public constructor, and no crate feature changes that; only the SDK's own aggregation
//! can produce them, so no `PushMetricExporter` can be handed our snapshots. Re-recording a
//! snapshot through SDK instruments would not be exact: a histogram accepts single
//! observations only, so its sum, min and max would be invented, at one call per observation.
//!
//! So snapshots are converted, exactly and with cumulative temporality, into the official
//! generated protobuf types of `opentelemetry-proto` (public fields), and sent by
//! [`OtlpMetricsClient`]: over gRPC with the generated tonic `MetricsServiceClient`, over HTTP
//! as the `prost`-encoded body POSTed to `/v1/metrics`, with the same reqwest client (and
//! HTTP/2 channel, for gRPC) as the other signals. Nothing of the protocol is written by
//! hand. The bridge's metrics interface is therefore [`ProtoMetricsExporter`], which takes an
//! `ExportMetricsServiceRequest`.
//!
//! # Details
//!
//! - Spans: kind `Internal`, parent local, `code.file.path` and `code.line.number` added;
//!   scope `instrument-runtime` with this crate's version.
//! - Log records: `time_unix_nano` and `observed_time_unix_nano` both set, trace context
//!   from our ids, the `log` target as the record's target (OTLP's scope name, as the
//!   OpenTelemetry `log` appenders do).
//! - Resource: the batch's resource plus `telemetry.sdk.*`; without one, the SDK default
//!   (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`).
//! - Partial success responses count as success (the OTLP spec says not to retry them).
//! - No TLS: `https://` endpoints are rejected at build time. No compression, no
//!   `http/json`.

mod bridge;
mod classify;
mod config;
mod convert;
mod exporter;
mod http_client;
mod metrics;
mod metrics_client;
mod runtime;

pub use bridge::{Classifier, OtelBridge, OtelBridgeBuilder};
pub use classify::classify_sdk_error;
pub use config::{OtlpConfigError, Protocol};
pub use exporter::{OtlpExporter, OtlpExporterBuilder};
pub use metrics_client::{BoxFuture, OtlpMetricsClient, ProtoMetricsExporter};
