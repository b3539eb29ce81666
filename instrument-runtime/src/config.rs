//! Configuration: builder values first, then the standard `OTEL_*` environment variables, then
//! defaults. An invalid environment value is reported once on stderr and replaced by the
//! default; it never panics.

use std::time::Duration;

use crate::data::KeyValue;
use crate::limits;

/// Resolved configuration of a pipeline.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) service_name: String,
    pub(crate) resource_attributes: Vec<KeyValue>,
    pub(crate) sample_ratio: f64,
    pub(crate) ring_capacity: usize,
    pub(crate) max_batch: usize,
    pub(crate) export_interval: Duration,
    pub(crate) metrics_interval: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) max_value_len: usize,
    pub(crate) disabled: bool,
    /// Most records one exporter's queue holds (what a hung exporter can pin in memory);
    /// `None`: the default, see [`Config::exporter_queue_limit`].
    pub(crate) exporter_queue: Option<usize>,
    /// How long one exporter call may run before the exporter counts as stuck.
    pub(crate) stuck_after: Duration,
    /// Record base-2 exponential histograms too (OTLP then sends them).
    pub(crate) exponential_histograms: bool,
}

impl Config {
    /// Defaults overridden by the environment.
    pub(crate) fn from_env() -> Config {
        let resource_attributes = env_resource_attributes();
        let service_name = env_string("OTEL_SERVICE_NAME")
            .or_else(|| {
                resource_attributes
                    .iter()
                    .find(|kv| kv.key == "service.name")
                    .map(|kv| kv.value.to_string())
            })
            .unwrap_or_else(default_service_name);
        Config {
            service_name,
            resource_attributes,
            sample_ratio: env_sampler().unwrap_or(1.0),
            ring_capacity: env_size("OTEL_BSP_MAX_QUEUE_SIZE", limits::MAX_RING_CAPACITY)
                .unwrap_or(limits::DEFAULT_RING_CAPACITY),
            max_batch: env_size("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", limits::MAX_BATCH).unwrap_or(512),
            export_interval: env_millis("OTEL_BSP_SCHEDULE_DELAY", limits::MAX_INTERVAL)
                .unwrap_or(Duration::from_millis(1000)),
            metrics_interval: env_millis("OTEL_METRIC_EXPORT_INTERVAL", limits::MAX_INTERVAL)
                .unwrap_or(Duration::from_secs(10)),
            shutdown_timeout: env_millis("OTEL_BSP_EXPORT_TIMEOUT", limits::MAX_TIMEOUT)
                .unwrap_or(Duration::from_secs(5)),
            max_value_len: env_size("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", limits::MAX_VALUE_LEN)
                .unwrap_or(4096),
            disabled: env_parse("OTEL_SDK_DISABLED", parse_bool).unwrap_or(false),
            exporter_queue: None,
            stuck_after: DEFAULT_STUCK_AFTER,
            exponential_histograms: env_parse(ENV_HISTOGRAM_AGGREGATION, parse_aggregation)
                .unwrap_or(false),
        }
    }

    /// The bound of each exporter's queue: the configured one, else the larger of
    /// [`DEFAULT_EXPORTER_QUEUE`] and what all `rings` can hold, so a healthy exporter is
    /// never refused a flush's worth of records (every ring full at once).
    pub(crate) fn exporter_queue_limit(&self, rings: usize) -> usize {
        self.exporter_queue.unwrap_or_else(|| {
            DEFAULT_EXPORTER_QUEUE
                .max(self.ring_capacity.saturating_mul(rings))
                .min(crate::limits::MAX_EXPORTER_QUEUE)
        })
    }
}

/// Default of [`Builder::stuck_exporter_after`](crate::Builder::stuck_exporter_after): twice
/// the OTLP exporter's default export timeout (10 s), as OpenTelemetry's reliability
/// guidance suggests (a call that outlived two timeouts is not coming back soon).
pub(crate) const DEFAULT_STUCK_AFTER: Duration = Duration::from_secs(20);

/// Default bound of each exporter's queue, in records.
pub(crate) const DEFAULT_EXPORTER_QUEUE: usize = 16_384;

fn default_service_name() -> String {
    // The OTel default is "unknown_service:<process name>".
    let exe = std::env::current_exe().ok();
    let name = exe
        .as_deref()
        .and_then(|p| p.file_stem())
        .and_then(|s| s.to_str())
        .unwrap_or("");
    format!("unknown_service:{name}")
}

/// Reports an invalid setting once (see [`crate::diag`]).
pub(crate) fn warn_once(message: String) {
    crate::diag::warn(message);
}

fn env_string(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
        Ok(_) | Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            warn_once(format!("{name} is not valid UTF-8; using the default"));
            None
        }
    }
}

/// Parses an environment variable; an invalid value is reported once and ignored.
pub(crate) fn env_parse<T>(name: &str, parse: fn(&str) -> Result<T, String>) -> Option<T> {
    let raw = env_string(name)?;
    match parse(&raw) {
        Ok(v) => Some(v),
        Err(why) => {
            warn_once(format!("invalid {name}={raw:?} ({why}); using the default"));
            None
        }
    }
}

/// A positive count from the environment, clamped to `max` (see [`crate::limits`]).
fn env_size(name: &str, max: usize) -> Option<usize> {
    env_parse(name, parse_positive).map(|v| limits::size_u64(v, max, name))
}

/// Milliseconds from the environment, clamped to `max` (see [`crate::limits`]).
fn env_millis(name: &str, max: Duration) -> Option<Duration> {
    env_parse(name, parse_millis).map(|v| limits::duration(v, max, name))
}

/// A positive whole number; scientific notation of a whole number (`4e9`) is accepted, and a
/// value beyond `u64` saturates (the caller clamps it to the setting's maximum anyway).
fn parse_positive(s: &str) -> Result<u64, String> {
    let value = match s.parse::<u64>() {
        Ok(v) => v,
        Err(e) => match s.parse::<f64>() {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 => f as u64,
            _ => return Err(e.to_string()),
        },
    };
    match value {
        0 => Err("must be greater than 0".into()),
        v => Ok(v),
    }
}

pub(crate) fn parse_millis(s: &str) -> Result<Duration, String> {
    s.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|e| format!("expected milliseconds: {e}"))
}

/// The OTLP metrics exporter spec's variable choosing the histogram aggregation:
/// `explicit_bucket_histogram` (the default) or `base2_exponential_bucket_histogram` (any case;
/// another value is reported once and means the default). Read by
/// [`builder`](crate::builder) for the install, because recording is process-wide: it sets the
/// default of [`Builder::exponential_histograms`](crate::Builder::exponential_histograms).
pub const ENV_HISTOGRAM_AGGREGATION: &str =
    "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION";

/// `explicit_bucket_histogram` (false) or `base2_exponential_bucket_histogram` (true), any
/// case.
pub(crate) fn parse_aggregation(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "explicit_bucket_histogram" => Ok(false),
        "base2_exponential_bucket_histogram" => Ok(true),
        _ => Err("expected explicit_bucket_histogram or base2_exponential_bucket_histogram".into()),
    }
}

pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        Ok(_) => Err("must be between 0 and 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// `OTEL_TRACES_SAMPLER` (+ `_ARG`) as a root sampling ratio. Every supported sampler is
/// parent-based in effect: children follow their parent's decision, and TraceIdRatio decides
/// the same way for every span of a trace.
fn env_sampler() -> Option<f64> {
    let sampler = env_string("OTEL_TRACES_SAMPLER")?;
    let arg = || env_parse("OTEL_TRACES_SAMPLER_ARG", parse_ratio).unwrap_or(1.0);
    match sampler.as_str() {
        "always_on" | "parentbased_always_on" => Some(1.0),
        "always_off" | "parentbased_always_off" => Some(0.0),
        "traceidratio" | "parentbased_traceidratio" => Some(arg()),
        other => {
            warn_once(format!(
                "unsupported OTEL_TRACES_SAMPLER={other:?}; using parentbased_always_on"
            ));
            None
        }
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES=key1=value1,key2=value2` (values percent-decoded).
fn env_resource_attributes() -> Vec<KeyValue> {
    let Some(raw) = env_string("OTEL_RESOURCE_ATTRIBUTES") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for pair in raw.split(',').filter(|p| !p.trim().is_empty()) {
        match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.push(KeyValue::new(k.trim().to_owned(), percent_decode(v.trim())))
            }
            _ => warn_once(format!(
                "ignoring malformed entry {pair:?} in OTEL_RESOURCE_ATTRIBUTES"
            )),
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Exporter selection: OTEL_TRACES_EXPORTER, OTEL_LOGS_EXPORTER, OTEL_METRICS_EXPORTER
// ---------------------------------------------------------------------------------------------

/// An exporter `init()` can start, if its cargo feature is compiled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Otlp,
    Console,
    Prometheus,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Otlp, Kind::Console, Kind::Prometheus];

    fn compiled_in(self) -> bool {
        match self {
            Kind::Otlp => cfg!(feature = "otlp"),
            Kind::Console => cfg!(feature = "stdout"),
            Kind::Prometheus => cfg!(feature = "prometheus"),
        }
    }

    fn feature(self) -> &'static str {
        match self {
            Kind::Otlp => "otlp",
            Kind::Console => "stdout",
            Kind::Prometheus => "prometheus",
        }
    }

    fn env_name(self) -> &'static str {
        match self {
            Kind::Otlp => "otlp",
            Kind::Console => "console",
            Kind::Prometheus => "prometheus",
        }
    }
}

/// The three signals, in the order of [`Selection::signals`].
const SIGNAL_VARS: [(&str, crate::data::SignalKind); 3] = [
    ("OTEL_TRACES_EXPORTER", crate::data::SignalKind::Traces),
    ("OTEL_LOGS_EXPORTER", crate::data::SignalKind::Logs),
    ("OTEL_METRICS_EXPORTER", crate::data::SignalKind::Metrics),
];

/// Which exporter takes which signals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    /// Per exporter kind (in [`Kind::ALL`] order): the signals it takes.
    pub(crate) sinks: Vec<(Kind, Vec<crate::data::SignalKind>)>,
}

/// What `init()` starts when the builder names no exporter:
///
/// - A signal whose `OTEL_<SIGNAL>_EXPORTER` is set goes to exactly the exporters listed
///   (`otlp`, `console` for stdout, `prometheus` for metrics, `none`, comma-separated). An
///   unknown value, a value whose cargo feature is not compiled in, or `prometheus` for spans
///   or logs is reported in one line and ignored; if nothing valid remains, the signal falls
///   back to the rule below.
/// - Otherwise: OTLP takes the signal only if an OTLP endpoint is configured
///   (`OTEL_EXPORTER_OTLP_ENDPOINT` or the signal's `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`);
///   Prometheus takes metrics only if `INSTRUMENT_PROMETHEUS_ADDR` is set; stdout takes the
///   signal when neither does. So compiling a feature in never makes a program talk to a
///   collector that is not there or open a port: configuration does.
pub(crate) fn select_exporters() -> Selection {
    select_with(env_string)
}

pub(crate) fn select_with(get: impl Fn(&str) -> Option<String>) -> Selection {
    use crate::data::SignalKind;
    let mut per_kind: Vec<(Kind, Vec<SignalKind>)> =
        Kind::ALL.iter().map(|&k| (k, Vec::new())).collect();
    for (var, signal) in SIGNAL_VARS {
        let kinds = match get(var) {
            Some(raw) => match parse_exporter_list(var, &raw, signal) {
                Some(kinds) => kinds,
                None => default_kinds(signal, &get),
            },
            None => default_kinds(signal, &get),
        };
        for kind in kinds {
            if let Some((_, signals)) = per_kind.iter_mut().find(|(k, _)| *k == kind) {
                signals.push(signal);
            }
        }
    }
    per_kind.retain(|(_, signals)| !signals.is_empty());
    Selection { sinks: per_kind }
}

/// The exporters for `signal` when its variable is not set.
fn default_kinds(
    signal: crate::data::SignalKind,
    get: &impl Fn(&str) -> Option<String>,
) -> Vec<Kind> {
    use crate::data::SignalKind;
    let mut kinds = Vec::new();
    let signal_endpoint = match signal {
        SignalKind::Traces => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        SignalKind::Logs => "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        SignalKind::Metrics => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    };
    if Kind::Otlp.compiled_in()
        && (get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() || get(signal_endpoint).is_some())
    {
        kinds.push(Kind::Otlp);
    }
    if Kind::Prometheus.compiled_in()
        && signal == SignalKind::Metrics
        && get("INSTRUMENT_PROMETHEUS_ADDR").is_some()
    {
        kinds.push(Kind::Prometheus);
    }
    if kinds.is_empty() && Kind::Console.compiled_in() {
        kinds.push(Kind::Console);
    }
    kinds
}

/// Parses one `OTEL_<SIGNAL>_EXPORTER` list; `None` if it names nothing usable (the default
/// applies then). `none` (alone or with others) means no exporter.
fn parse_exporter_list(var: &str, raw: &str, signal: crate::data::SignalKind) -> Option<Vec<Kind>> {
    let mut kinds = Vec::new();
    let mut none = false;
    let mut invalid = false;
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let item_lc = item.to_ascii_lowercase();
        let kind = match item_lc.as_str() {
            "none" => {
                none = true;
                continue;
            }
            "otlp" => Kind::Otlp,
            "console" | "stdout" => Kind::Console,
            "prometheus" => Kind::Prometheus,
            _ => {
                invalid = true;
                warn_once(format!(
                    "{var}: unknown exporter {item:?} (expected otlp, console, prometheus or \
                     none); ignored"
                ));
                continue;
            }
        };
        if !kind.compiled_in() {
            invalid = true;
            warn_once(format!(
                "{var}: exporter {:?} is not compiled in (enable the `{}` feature of \
                 instrument-runtime); ignored",
                kind.env_name(),
                kind.feature()
            ));
            continue;
        }
        if kind == Kind::Prometheus && signal != crate::data::SignalKind::Metrics {
            invalid = true;
            warn_once(format!(
                "{var}: the prometheus exporter only takes metrics; ignored"
            ));
            continue;
        }
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if none {
        return Some(Vec::new());
    }
    if kinds.is_empty() && invalid {
        warn_once(format!(
            "{var}={raw:?} names no usable exporter; using the default for this signal"
        ));
        return None;
    }
    Some(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_aggregation_values() {
        assert_eq!(parse_aggregation("explicit_bucket_histogram"), Ok(false));
        assert_eq!(
            parse_aggregation("BASE2_Exponential_Bucket_Histogram"),
            Ok(true)
        );
        assert!(parse_aggregation("exponential").is_err());
        assert!(parse_aggregation("").is_err());
    }

    #[test]
    fn parsers_reject_bad_values() {
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("-3").is_err());
        assert_eq!(parse_positive("12"), Ok(12));
        assert_eq!(parse_positive("4e9"), Ok(4_000_000_000));
        assert_eq!(parse_positive("1e30"), Ok(u64::MAX));
        assert!(parse_positive("1.5").is_err());
        assert!(parse_positive("inf").is_err());
        assert!(parse_millis("1.5s").is_err());
        assert!(parse_ratio("1.5").is_err());
        assert!(parse_bool("yes").is_err());
        assert_eq!(percent_decode("a%20b%zz"), "a b%zz");
    }

    fn select(vars: &[(&str, &str)]) -> Vec<(Kind, Vec<crate::data::SignalKind>)> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        select_with(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).sinks
    }

    #[test]
    fn exporter_selection_rules() {
        use crate::data::SignalKind::{Logs, Metrics, Traces};
        let all = vec![Traces, Logs, Metrics];
        // Nothing configured: stdout only, whatever is compiled in.
        assert_eq!(select(&[]), vec![(Kind::Console, all.clone())]);
        // An OTLP endpoint: OTLP for every signal, stdout for none.
        let otlp = select(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]);
        if cfg!(feature = "otlp") {
            assert_eq!(otlp, vec![(Kind::Otlp, all.clone())]);
            // A per-signal endpoint: that signal only; stdout keeps the others.
            assert_eq!(
                select(&[(
                    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                    "http://127.0.0.1:4318/v1/logs"
                )]),
                vec![
                    (Kind::Otlp, vec![Logs]),
                    (Kind::Console, vec![Traces, Metrics])
                ]
            );
            // Named explicitly: comma lists, per signal; `none`.
            assert_eq!(
                select(&[
                    ("OTEL_TRACES_EXPORTER", "otlp, console"),
                    ("OTEL_LOGS_EXPORTER", "none"),
                    ("OTEL_METRICS_EXPORTER", "otlp"),
                ]),
                vec![
                    (Kind::Otlp, vec![Traces, Metrics]),
                    (Kind::Console, vec![Traces])
                ]
            );
        } else {
            assert_eq!(otlp, vec![(Kind::Console, all.clone())]);
        }
        if cfg!(feature = "prometheus") {
            assert_eq!(
                select(&[("INSTRUMENT_PROMETHEUS_ADDR", "127.0.0.1:0")]),
                vec![
                    (Kind::Console, vec![Traces, Logs]),
                    (Kind::Prometheus, vec![Metrics])
                ]
            );
            assert_eq!(
                select(&[("OTEL_METRICS_EXPORTER", "prometheus")]),
                vec![
                    (Kind::Console, vec![Traces, Logs]),
                    (Kind::Prometheus, vec![Metrics])
                ]
            );
        }
        // Bad values: ignored (one line each), the default applies if nothing usable is left.
        assert_eq!(
            select(&[("OTEL_TRACES_EXPORTER", "zipkin")]),
            vec![(Kind::Console, all.clone())]
        );
        assert_eq!(
            select(&[("OTEL_TRACES_EXPORTER", "prometheus")]),
            vec![(Kind::Console, all.clone())]
        );
        assert_eq!(
            select(&[
                ("OTEL_TRACES_EXPORTER", "zipkin,console"),
                ("OTEL_LOGS_EXPORTER", "none")
            ]),
            vec![(Kind::Console, vec![Traces, Metrics])]
        );
        // Everything `none`: no exporter at all.
        assert_eq!(
            select(&[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_LOGS_EXPORTER", "none"),
                ("OTEL_METRICS_EXPORTER", "none"),
            ]),
            vec![]
        );
    }

    #[test]
    #[cfg(not(feature = "otlp"))]
    fn an_exporter_not_compiled_in_is_ignored() {
        use crate::data::SignalKind::{Logs, Metrics, Traces};
        assert_eq!(
            select(&[("OTEL_TRACES_EXPORTER", "otlp")]),
            vec![(Kind::Console, vec![Traces, Logs, Metrics])]
        );
    }
}
