//! Configuration of [`OtlpExporter`](super::OtlpExporter): values from the builder, or from the
//! standard `OTEL_EXPORTER_OTLP_*` environment variables.
//!
//! The builder is strict (an invalid value is an [`OtlpConfigError`]); the environment is
//! forgiving, as the OpenTelemetry configuration spec asks: an invalid variable is reported
//! once on stderr and the default is used instead. Nothing here panics.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
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
/// `OTEL_EXPORTER_OTLP_COMPRESSION`: `gzip` or `none`.
pub const ENV_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// `OTEL_EXPORTER_OTLP_CERTIFICATE`: PEM file of the CA(s) that verify the collector.
pub const ENV_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
/// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`: PEM file of our certificate chain (mTLS).
pub const ENV_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
/// `OTEL_EXPORTER_OTLP_CLIENT_KEY`: PEM file of our private key (mTLS).
pub const ENV_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";

/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`: `cumulative`, `delta` or `lowmemory`.
pub const ENV_TEMPORALITY: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";

/// Default deadline of one export (the OTLP spec's 10 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default largest request body: 4 MiB, the default receive limit of gRPC servers (and of the
/// OpenTelemetry collector's OTLP receiver). Larger batches are split.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
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
    /// OTLP/HTTP with protobuf bodies, default port 4318. The default.
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

/// Compression of request bodies (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Bodies sent as they are (the spec's default).
    #[default]
    None,
    /// gzip: `Content-Encoding: gzip` over HTTP, `grpc-encoding: gzip` over gRPC.
    Gzip,
}

impl Compression {
    /// Parses `gzip` or `none`.
    pub fn parse(value: &str) -> Option<Compression> {
        match value.trim() {
            "gzip" => Some(Compression::Gzip),
            "none" => Some(Compression::None),
            _ => None,
        }
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
    pub(crate) const fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Logs => "/v1/logs",
            Signal::Metrics => "/v1/metrics",
        }
    }

    /// `TRACES`, `LOGS` or `METRICS`, as in `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    const fn var_part(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Logs => "LOGS",
            Signal::Metrics => "METRICS",
        }
    }

    pub(crate) const fn name(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
            Signal::Metrics => "metrics",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The signal-specific variable for `option` (`ENDPOINT`, `HEADERS`, ...).
    fn var(self, option: &str) -> String {
        format!("OTEL_EXPORTER_OTLP_{}_{option}", self.var_part())
    }
}

/// A builder value that cannot work (bad URL, header, timeout or certificate file).
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

/// TLS files of one signal (PEM paths).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct TlsFiles {
    /// CA certificate(s) that verify the collector; `None`: the system's roots.
    pub(crate) ca: Option<PathBuf>,
    /// Our certificate chain, for mTLS.
    pub(crate) client_cert: Option<PathBuf>,
    /// Our private key, for mTLS.
    pub(crate) client_key: Option<PathBuf>,
}

/// Options set for every signal, or for one signal (which wins), `None` meaning "not set".
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Options {
    pub(crate) protocol: Option<Protocol>,
    pub(crate) endpoint: Option<String>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) headers: Option<Vec<(String, String)>>,
    pub(crate) compression: Option<Compression>,
    pub(crate) ca: Option<PathBuf>,
    pub(crate) client_cert: Option<PathBuf>,
    pub(crate) client_key: Option<PathBuf>,
}

/// Everything one signal is sent with, after precedence is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SignalConfig {
    pub(crate) signal: Signal,
    pub(crate) protocol: Protocol,
    /// The full URL (OTLP/HTTP: with the signal's path).
    pub(crate) url: String,
    pub(crate) timeout: Duration,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) compression: Compression,
    pub(crate) tls: TlsFiles,
    pub(crate) max_request_bytes: usize,
}

/// Validated configuration: generic options and per-signal options (which win).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OtlpConfig {
    pub(crate) generic: Options,
    /// Indexed by [`Signal::index`].
    pub(crate) signals: [Options; 3],
    pub(crate) max_request_bytes: usize,
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`.
    pub(crate) temporality: super::temporality::Temporality,
    /// `code.file.path` and `code.line.number` on every span (default on).
    pub(crate) code_attributes: bool,
    /// Most buckets of one exponential histogram point (default 160, the OTLP SDK's).
    pub(crate) exponential_max_size: usize,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            generic: Options::default(),
            signals: Default::default(),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            temporality: super::temporality::Temporality::default(),
            code_attributes: true,
            exponential_max_size: crate::EXPONENTIAL_MAX_SIZE,
        }
    }
}

impl OtlpConfig {
    /// The protocol of the traces signal (the one reported as "the" protocol).
    pub(crate) fn protocol(&self) -> Protocol {
        self.resolve(Signal::Traces).protocol
    }

    /// The URL a signal is sent to (see [`resolve`](Self::resolve)).
    pub(crate) fn signal_url(&self, signal: Signal) -> String {
        self.resolve(signal).url
    }

    /// The signal's settings, the OTLP exporter spec's precedence applied: a signal-specific
    /// option wins over the generic one, which wins over the default. A signal-specific
    /// endpoint is used as is; the generic (or default) endpoint gets `/v1/<signal>` appended
    /// for OTLP/HTTP. For gRPC the path is irrelevant.
    pub(crate) fn resolve(&self, signal: Signal) -> SignalConfig {
        let own = &self.signals[signal.index()];
        let generic = &self.generic;
        let protocol = own.protocol.or(generic.protocol).unwrap_or_default();
        let url = match (&own.endpoint, &generic.endpoint) {
            (Some(url), _) => url.clone(),
            (None, base) => {
                let base = base.as_deref().unwrap_or(protocol.default_endpoint());
                match protocol {
                    Protocol::Grpc => base.to_owned(),
                    Protocol::HttpProtobuf => {
                        format!("{}{}", base.trim_end_matches('/'), signal.http_path())
                    }
                }
            }
        };
        let pick = |own: &Option<PathBuf>, generic: &Option<PathBuf>| {
            own.clone().or_else(|| generic.clone())
        };
        SignalConfig {
            signal,
            protocol,
            url,
            timeout: own.timeout.or(generic.timeout).unwrap_or(DEFAULT_TIMEOUT),
            headers: own
                .headers
                .clone()
                .or_else(|| generic.headers.clone())
                .unwrap_or_default(),
            compression: own.compression.or(generic.compression).unwrap_or_default(),
            tls: TlsFiles {
                ca: pick(&own.ca, &generic.ca),
                client_cert: pick(&own.client_cert, &generic.client_cert),
                client_key: pick(&own.client_key, &generic.client_key),
            },
            max_request_bytes: self.max_request_bytes,
        }
    }

    /// The longest deadline of the three signals (the whole export's deadline).
    pub(crate) fn timeout(&self) -> Duration {
        Signal::ALL
            .iter()
            .map(|s| self.resolve(*s).timeout)
            .max()
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// Checks every value; the first problem found is returned.
    pub(crate) fn validate(&self) -> Result<(), OtlpConfigError> {
        for options in std::iter::once(&self.generic).chain(&self.signals) {
            if let Some(url) = &options.endpoint {
                check_endpoint(url).map_err(OtlpConfigError::new)?;
            }
            for (name, value) in options.headers.iter().flatten() {
                check_header(name, value).map_err(OtlpConfigError::new)?;
            }
            if options.timeout.is_some_and(|t| t.is_zero()) {
                return Err(OtlpConfigError::new(
                    "the timeout must be greater than zero",
                ));
            }
        }
        if self.max_request_bytes < 1024 {
            return Err(OtlpConfigError::new(
                "the request size limit must be at least 1024 bytes",
            ));
        }
        for signal in Signal::ALL {
            let resolved = self.resolve(signal);
            super::tls::TlsMaterial::load(&resolved.tls)
                .map_err(|e| OtlpConfigError::new(format!("{}: {e}", signal.name())))?;
        }
        Ok(())
    }

    /// Reads the `OTEL_EXPORTER_OTLP_*` variables. Invalid values are reported once each and
    /// replaced by the default.
    pub(crate) fn from_env() -> OtlpConfig {
        OtlpConfig::from_lookup(&|var: &str| env_string(var))
    }

    /// Reads the variables through `lookup` (unset or empty: `None`).
    pub(crate) fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> OtlpConfig {
        let mut config = OtlpConfig {
            generic: options_from(lookup, |option| format!("OTEL_EXPORTER_OTLP_{option}")),
            ..OtlpConfig::default()
        };
        for signal in Signal::ALL {
            config.signals[signal.index()] = options_from(lookup, |option| signal.var(option));
        }
        if let Some(raw) = lookup(ENV_TEMPORALITY) {
            let parsed = checked(
                ENV_TEMPORALITY,
                &raw,
                super::temporality::Temporality::parse,
                "cumulative, delta or lowmemory",
            );
            config.temporality = parsed.unwrap_or_default();
        }
        config
    }
}

/// One set of options from the variables `name(option)` names.
fn options_from(lookup: &dyn Fn(&str) -> Option<String>, name: impl Fn(&str) -> String) -> Options {
    let get = |option: &str| {
        let var = name(option);
        lookup(&var).map(|value| (var, value))
    };
    let mut options = Options::default();
    if let Some((var, raw)) = get("PROTOCOL") {
        options.protocol = checked(&var, &raw, Protocol::parse, "grpc or http/protobuf");
    }
    if let Some((var, raw)) = get("ENDPOINT") {
        options.endpoint = checked(&var, &raw, valid_endpoint, "an http:// or https:// URL");
    }
    if let Some((var, raw)) = get("TIMEOUT") {
        options.timeout = checked(&var, &raw, parse_timeout_ms, "milliseconds > 0");
    }
    if let Some((var, raw)) = get("HEADERS") {
        options.headers = Some(parse_headers_env(&var, &raw));
    }
    if let Some((var, raw)) = get("COMPRESSION") {
        options.compression = checked(&var, &raw, Compression::parse, "gzip or none");
    }
    options.ca = get("CERTIFICATE").map(|(_, v)| PathBuf::from(v.trim()));
    options.client_cert = get("CLIENT_CERTIFICATE").map(|(_, v)| PathBuf::from(v.trim()));
    options.client_key = get("CLIENT_KEY").map(|(_, v)| PathBuf::from(v.trim()));
    options
}

/// Parses a variable's value; an unparsable value is reported and treated as unset.
fn checked<T>(
    var: &str,
    raw: &str,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Option<T> {
    let parsed = parse(raw);
    if parsed.is_none() {
        warn_invalid(
            var,
            raw,
            &format!("expected {expected}"),
            "using the default",
        );
    }
    parsed
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

/// An endpoint must be an absolute `http://` or `https://` URL with a host.
pub(crate) fn check_endpoint(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("endpoint {url:?} is not a URL: {e}"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(()),
        _ => Err(format!(
            "endpoint {url:?} must look like http://host:port or https://host:port"
        )),
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
fn parse_headers_env(var: &str, raw: &str) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match parse_header_entry(entry) {
            Some(pair) => headers.push(pair),
            None => warn_invalid(var, entry, "not a key=value header", "skipping it"),
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

    fn from_vars(vars: &[(&str, &str)]) -> OtlpConfig {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        OtlpConfig::from_lookup(&move |name: &str| {
            vars.iter()
                .find(|(k, v)| k == name && !v.trim().is_empty())
                .map(|(_, v)| v.clone())
        })
    }

    fn urls(config: &OtlpConfig) -> [String; 3] {
        Signal::ALL.map(|s| config.signal_url(s))
    }

    /// The examples of the OTLP exporter spec, "Endpoint URLs for OTLP/HTTP" and
    /// "Configuration Options" (per-signal over generic, default last).
    #[test]
    fn the_spec_endpoint_table() {
        type Row<'a> = (&'a [(&'a str, &'a str)], [&'a str; 3]);
        let table: &[Row<'_>] = &[
            (
                &[],
                [
                    "http://localhost:4318/v1/traces",
                    "http://localhost:4318/v1/logs",
                    "http://localhost:4318/v1/metrics",
                ],
            ),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")],
                [
                    "http://collector:4318/v1/traces",
                    "http://collector:4318/v1/logs",
                    "http://collector:4318/v1/metrics",
                ],
            ),
            (
                &[(
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    "https://otlp.example.com/otlp/",
                )],
                [
                    "https://otlp.example.com/otlp/v1/traces",
                    "https://otlp.example.com/otlp/v1/logs",
                    "https://otlp.example.com/otlp/v1/metrics",
                ],
            ),
            (
                &[(
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://collector:4318/custom",
                )],
                [
                    "http://collector:4318/custom",
                    "http://localhost:4318/v1/logs",
                    "http://localhost:4318/v1/metrics",
                ],
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                    (
                        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                        "https://m.example.com",
                    ),
                ],
                [
                    "http://collector:4318/v1/traces",
                    "http://collector:4318/v1/logs",
                    "https://m.example.com",
                ],
            ),
            (
                &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
                [
                    "http://localhost:4317",
                    "http://localhost:4317",
                    "http://localhost:4317",
                ],
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                    ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:1234"),
                ],
                ["http://c:1234", "http://c:1234/v1/logs", "http://c:1234"],
            ),
        ];
        for (vars, expected) in table {
            assert_eq!(
                urls(&from_vars(vars)),
                expected.map(String::from),
                "{vars:?}"
            );
        }
    }

    /// Every option has a per-signal variable that wins over the generic one.
    #[test]
    fn per_signal_options_win_over_generic_ones() {
        let config = from_vars(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "b=2"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem"),
            ("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "/m-ca.pem"),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/c.pem"),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/t-c.pem"),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/k.pem"),
            ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", "/l-k.pem"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
        ]);
        let [traces, logs, metrics] = Signal::ALL.map(|s| config.resolve(s));
        let pair = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(traces.headers, pair("a", "1"));
        assert_eq!(logs.headers, pair("b", "2"));
        assert_eq!(traces.timeout, Duration::from_millis(1000));
        assert_eq!(metrics.timeout, Duration::from_millis(2000));
        assert_eq!(config.timeout(), Duration::from_millis(2000));
        assert_eq!(traces.compression, Compression::None);
        assert_eq!(logs.compression, Compression::Gzip);
        assert_eq!(traces.tls.ca, Some(PathBuf::from("/ca.pem")));
        assert_eq!(metrics.tls.ca, Some(PathBuf::from("/m-ca.pem")));
        assert_eq!(traces.tls.client_cert, Some(PathBuf::from("/t-c.pem")));
        assert_eq!(logs.tls.client_cert, Some(PathBuf::from("/c.pem")));
        assert_eq!(logs.tls.client_key, Some(PathBuf::from("/l-k.pem")));
        assert_eq!(metrics.tls.client_key, Some(PathBuf::from("/k.pem")));
        assert_eq!(traces.protocol, Protocol::Grpc);
        assert_eq!(logs.protocol, Protocol::HttpProtobuf);
        let delta = from_vars(&[(ENV_TEMPORALITY, "Delta")]);
        assert_eq!(
            delta.temporality,
            super::super::temporality::Temporality::Delta
        );
        let bad = from_vars(&[(ENV_TEMPORALITY, "sometimes")]);
        assert_eq!(
            bad.temporality,
            super::super::temporality::Temporality::Cumulative
        );
    }

    #[test]
    fn invalid_values_fall_back_to_defaults() {
        let config = from_vars(&[
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ]);
        let traces = config.resolve(Signal::Traces);
        assert_eq!(traces.compression, Compression::None);
        assert_eq!(traces.timeout, DEFAULT_TIMEOUT);
        assert_eq!(traces.url, "http://localhost:4318/v1/traces");
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
        let headers = parse_headers_env(ENV_HEADERS, "Api-Key=a%20b, broken ,x=1,bad name=2");
        assert_eq!(
            headers,
            vec![("api-key".into(), "a b".into()), ("x".into(), "1".into())]
        );
    }

    #[test]
    fn endpoints_must_be_plain_http() {
        assert!(check_endpoint("http://127.0.0.1:4317").is_ok());
        assert!(check_endpoint("https://collector").is_ok());
        assert!(check_endpoint("collector:4317").is_err());
        assert!(check_endpoint("not a url").is_err());
    }

    #[test]
    fn validate_reports_the_bad_value() {
        let mut config = OtlpConfig::default();
        config.generic.headers = Some(vec![("bad name".into(), "v".into())]);
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("bad name"), "{err}");
    }
}
