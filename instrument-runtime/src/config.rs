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
                .unwrap_or(4096),
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
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
