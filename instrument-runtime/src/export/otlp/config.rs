//! Configuration of [`OtlpExporter`](super::OtlpExporter): values from the builder, or from the
//! standard `OTEL_EXPORTER_OTLP_*` environment variables.
//!
//! The builder is strict (an invalid value is an [`OtlpConfigError`]); the environment is
//! forgiving, as the OpenTelemetry configuration spec asks: an invalid variable is reported
//! once on stderr and the default is used instead. Nothing here panics.

use std::collections::HashSet;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

/// `OTEL_EXPORTER_OTLP_ENDPOINT`: base URL of the collector, for every signal.
pub const ENV_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` or `http/protobuf`.
pub const ENV_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// `OTEL_EXPORTER_OTLP_TIMEOUT`: export deadline in milliseconds.
pub const ENV_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs separated by commas, values URL-encoded.
pub const ENV_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";

/// Default deadline of one export (the OTLP spec's 10 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";

/// How OTLP is carried.
///
/// The OTLP spec makes `http/protobuf` the default; `http/json` is not supported (the
/// `oteltest` receiver and protobuf's JSON mapping disagree on ids, see `RECEIVERS.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// OTLP/gRPC (tonic), default port 4317.
    Grpc,
    /// OTLP/HTTP with protobuf bodies, default port 4318.
    #[default]
    HttpProtobuf,
}

impl Protocol {
    /// Parses the `OTEL_EXPORTER_OTLP_PROTOCOL` spelling: `grpc` or `http/protobuf`.
    pub fn parse(value: &str) -> Option<Protocol> {
        match value.trim() {
            "grpc" => Some(Protocol::Grpc),
            "http/protobuf" => Some(Protocol::HttpProtobuf),
            _ => None,
        }
    }

    /// The spelling `OTEL_EXPORTER_OTLP_PROTOCOL` uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }

    const fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => DEFAULT_GRPC_ENDPOINT,
            Protocol::HttpProtobuf => DEFAULT_HTTP_ENDPOINT,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three OTLP signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Signal {
    Traces,
    Logs,
    Metrics,
}

impl Signal {
    pub(crate) const ALL: [Signal; 3] = [Signal::Traces, Signal::Logs, Signal::Metrics];

    /// Path appended to the base endpoint for OTLP/HTTP (spec: "Endpoint URLs for OTLP/HTTP").
    const fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Logs => "/v1/logs",
            Signal::Metrics => "/v1/metrics",
        }
    }

    /// The signal-specific endpoint variable, used as is (no path appended).
    const fn endpoint_var(self) -> &'static str {
        match self {
            Signal::Traces => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            Signal::Logs => "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            Signal::Metrics => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// A builder value that cannot work (bad URL, header or timeout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpConfigError {
    message: String,
}

impl OtlpConfigError {
    pub(crate) fn from_message(message: String) -> Self {
        OtlpConfigError::new(message)
    }

    fn new(message: impl Into<String>) -> Self {
        OtlpConfigError {
            message: message.into(),
        }
    }
}

impl fmt::Display for OtlpConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid OTLP exporter configuration: {}", self.message)
    }
}

impl std::error::Error for OtlpConfigError {}

/// Validated configuration: every URL parses, every header is a legal header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OtlpConfig {
    pub(crate) protocol: Protocol,
    /// Base endpoint for all signals (`None`: the protocol's default).
    pub(crate) endpoint: Option<String>,
    /// Full per-signal URLs, indexed by [`Signal::index`]; they win over `endpoint`.
    pub(crate) signal_endpoints: [Option<String>; 3],
    pub(crate) timeout: Duration,
    pub(crate) headers: Vec<(String, String)>,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            protocol: Protocol::default(),
            endpoint: None,
            signal_endpoints: [None, None, None],
            timeout: DEFAULT_TIMEOUT,
            headers: Vec::new(),
        }
    }
}

impl OtlpConfig {
    /// The URL a signal is sent to. For OTLP/HTTP the base endpoint gets `/v1/<signal>`
    /// appended; a signal-specific endpoint is used as is. For gRPC the path is irrelevant.
    pub(crate) fn signal_url(&self, signal: Signal) -> String {
        if let Some(url) = &self.signal_endpoints[signal.index()] {
            return url.clone();
        }
        let base = self
            .endpoint
            .as_deref()
            .unwrap_or(self.protocol.default_endpoint());
        match self.protocol {
            Protocol::Grpc => base.to_owned(),
            Protocol::HttpProtobuf => {
                format!("{}{}", base.trim_end_matches('/'), signal.http_path())
            }
        }
    }

    /// Sets a signal-specific endpoint.
    pub(crate) fn set_signal_endpoint(&mut self, signal: Signal, url: String) {
        self.signal_endpoints[signal.index()] = Some(url);
    }

    /// Checks every value; the first problem found is returned.
    pub(crate) fn validate(&self) -> Result<(), OtlpConfigError> {
        let urls = self
            .endpoint
            .iter()
            .chain(self.signal_endpoints.iter().flatten());
        for url in urls {
            check_endpoint(url).map_err(OtlpConfigError::new)?;
        }
        for (name, value) in &self.headers {
            check_header(name, value).map_err(OtlpConfigError::new)?;
        }
        if self.timeout.is_zero() {
            return Err(OtlpConfigError::new(
                "the timeout must be greater than zero",
            ));
        }
        Ok(())
    }

    /// Reads the `OTEL_EXPORTER_OTLP_*` variables. Invalid values are reported once each on
    /// stderr and replaced by the default.
    pub(crate) fn from_env() -> OtlpConfig {
        let mut config = OtlpConfig::default();
        if let Some(protocol) = env_value(ENV_PROTOCOL, Protocol::parse, "grpc or http/protobuf") {
            config.protocol = protocol;
        }
        config.endpoint = env_value(ENV_ENDPOINT, valid_endpoint, "an http:// URL");
        for signal in Signal::ALL {
            if let Some(url) = env_value(signal.endpoint_var(), valid_endpoint, "an http:// URL") {
                config.set_signal_endpoint(signal, url);
            }
        }
        if let Some(timeout) = env_timeout() {
            config.timeout = timeout;
        }
        if let Some(raw) = env_string(ENV_HEADERS) {
            config.headers = parse_headers_env(&raw);
        }
        config
    }
}

/// The deadline from `OTEL_EXPORTER_OTLP_TIMEOUT`, if it is set and valid.
pub(crate) fn env_timeout() -> Option<Duration> {
    env_value(ENV_TIMEOUT, parse_timeout_ms, "milliseconds > 0")
}

/// `OTEL_EXPORTER_OTLP_TIMEOUT` is an integer number of milliseconds; 0 would mean "no
/// deadline", which this exporter never allows.
fn parse_timeout_ms(value: &str) -> Option<Duration> {
    let ms: u64 = value.trim().parse().ok()?;
    (ms > 0).then(|| Duration::from_millis(ms))
}

fn valid_endpoint(value: &str) -> Option<String> {
    check_endpoint(value.trim())
        .ok()
        .map(|()| value.trim().to_owned())
}

/// An endpoint must be an absolute `http://` URL with a host. `https://` needs TLS, which is
/// not compiled in (see the module docs).
pub(crate) fn check_endpoint(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("endpoint {url:?} is not a URL: {e}"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(_)) => Ok(()),
        (Some("https"), Some(_)) => Err(format!(
            "endpoint {url:?} uses https, but this build has no TLS support; use http://"
        )),
        _ => Err(format!("endpoint {url:?} must look like http://host:port")),
    }
}

/// A header must be legal both as an HTTP header and as gRPC metadata (lowercase ASCII name).
pub(crate) fn check_header(name: &str, value: &str) -> Result<(), String> {
    let lower = name.to_ascii_lowercase();
    http::HeaderName::from_bytes(lower.as_bytes())
        .map_err(|_| format!("header name {name:?} is not a legal header name"))?;
    http::HeaderValue::from_str(value)
        .map_err(|_| format!("the value of header {name:?} is not a legal header value"))?;
    Ok(())
}

/// Parses `OTEL_EXPORTER_OTLP_HEADERS` (`k1=v1,k2=v2`, values percent-decoded, spec:
/// "Specifying headers via environment variables"). Bad entries are reported and skipped.
fn parse_headers_env(raw: &str) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match parse_header_entry(entry) {
            Some(pair) => headers.push(pair),
            None => warn_invalid(ENV_HEADERS, entry, "not a key=value header", "skipping it"),
        }
    }
    headers
}

fn parse_header_entry(entry: &str) -> Option<(String, String)> {
    let (name, value) = entry.split_once('=')?;
    let name = name.trim().to_ascii_lowercase();
    let value = percent_encoding::percent_decode_str(value.trim())
        .decode_utf8()
        .ok()?
        .into_owned();
    check_header(&name, &value).ok()?;
    Some((name, value))
}

/// Reads a variable as a string; unset and empty mean "not set".
fn env_string(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if value.trim().is_empty() => None,
        Ok(value) => Some(value),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            warn_invalid(var, "<not unicode>", "not valid UTF-8", "using the default");
            None
        }
    }
}

/// Reads and parses a variable; an unparsable value is reported and treated as unset.
fn env_value<T>(var: &str, parse: impl Fn(&str) -> Option<T>, expected: &str) -> Option<T> {
    let raw = env_string(var)?;
    let parsed = parse(&raw);
    if parsed.is_none() {
        warn_invalid(
            var,
            &raw,
            &format!("expected {expected}"),
            "using the default",
        );
    }
    parsed
}

/// Variables already reported: each is reported once per process, however many exporters
/// read it.
static WARNED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Reports an invalid configuration value once on stderr. Never panics (a poisoned lock is
/// still usable: the set is only ever inserted into).
pub(crate) fn warn_invalid(var: &str, value: &str, why: &str, action: &str) {
    let mut warned = WARNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if warned
        .get_or_insert_with(HashSet::new)
        .insert(var.to_owned())
    {
        crate::diag::warn(format!("ignoring {var}={value:?} ({why}); {action}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_get_signal_paths_and_signal_urls_win() {
        let mut config = OtlpConfig {
            endpoint: Some("http://collector:4318/".into()),
            ..OtlpConfig::default()
        };
        assert_eq!(
            config.signal_url(Signal::Traces),
            "http://collector:4318/v1/traces"
        );
        config.set_signal_endpoint(Signal::Logs, "http://other/custom".into());
        assert_eq!(config.signal_url(Signal::Logs), "http://other/custom");
        assert_eq!(
            config.signal_url(Signal::Metrics),
            "http://collector:4318/v1/metrics"
        );
    }

    #[test]
    fn grpc_defaults_to_4317_without_path() {
        let config = OtlpConfig {
            protocol: Protocol::Grpc,
            ..OtlpConfig::default()
        };
        assert_eq!(config.signal_url(Signal::Metrics), "http://localhost:4317");
    }

    #[test]
    fn protocol_spellings() {
        assert_eq!(Protocol::parse("grpc"), Some(Protocol::Grpc));
        assert_eq!(
            Protocol::parse("http/protobuf"),
            Some(Protocol::HttpProtobuf)
        );
        assert_eq!(Protocol::parse("http/json"), None);
        assert_eq!(Protocol::parse("GRPC"), None);
    }

    #[test]
    fn timeouts_are_positive_milliseconds() {
        assert_eq!(parse_timeout_ms("2500"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_timeout_ms("0"), None);
        assert_eq!(parse_timeout_ms("-1"), None);
        assert_eq!(parse_timeout_ms("10s"), None);
    }

    #[test]
    fn headers_are_percent_decoded_and_bad_entries_skipped() {
        let headers = parse_headers_env("Api-Key=a%20b, broken ,x=1,bad name=2");
        assert_eq!(
            headers,
            vec![("api-key".into(), "a b".into()), ("x".into(), "1".into())]
        );
    }

    #[test]
    fn endpoints_must_be_plain_http() {
        assert!(check_endpoint("http://127.0.0.1:4317").is_ok());
        assert!(check_endpoint("https://collector").is_err());
        assert!(check_endpoint("collector:4317").is_err());
        assert!(check_endpoint("not a url").is_err());
    }

    #[test]
    fn validate_reports_the_bad_value() {
        let config = OtlpConfig {
            headers: vec![("bad name".into(), "v".into())],
            ..OtlpConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("bad name"), "{err}");
    }
}
