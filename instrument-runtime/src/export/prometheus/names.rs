//! OpenTelemetry names to legacy Prometheus names.
//!
//! Prometheus 2.42 accepts only `[a-zA-Z_:][a-zA-Z0-9_:]*` metric names and
//! `[a-zA-Z_][a-zA-Z0-9_]*` label names: one dotted name makes the whole scrape fail. The rules
//! follow the `OpenTelemetry` "Prometheus and `OpenMetrics` compatibility" spec where it is simple
//! (<https://opentelemetry.io/docs/specs/otel/compatibility/prometheus_and_openmetrics/>), and
//! the collector's `pkg/translator/prometheus` for the unit table.

/// The kind of a metric family: suffix rules and reserved labels depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    /// The word of the `# TYPE` line.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// The Prometheus name of a metric: sanitized, then the unit suffix (unless the name already
/// says it), then `_total` for counters (moved to the end if the name had it).
pub(crate) fn metric_name(name: &str, unit: &str, kind: Kind) -> String {
    let mut base = sanitize(name);
    if kind == Kind::Counter {
        base = strip_total(base);
    }
    if let Some(unit) = unit_suffix(unit, kind) {
        if !contains_tokens(&base, &unit) {
            push_token(&mut base, &unit);
        }
    }
    if kind == Kind::Counter {
        push_token(&mut base, "total");
    }
    fix_start(base)
}

/// The Prometheus name of a label. Invalid characters become `_` (colons too: label names may
/// not have them); a leading digit gets `key_` and a leading `__` (reserved for Prometheus
/// itself) gets `key`, as the collector does. `le` is reserved on histograms: `key_le`.
pub(crate) fn label_name(key: &str, kind: Kind) -> String {
    let name: String = key.chars().map(valid_or_underscore).collect();
    match name.as_bytes().first() {
        None => "key".to_owned(),
        Some(b'0'..=b'9') => format!("key_{name}"),
        Some(_) if name.starts_with("__") => format!("key{name}"),
        Some(_) if kind == Kind::Histogram && name == "le" => "key_le".to_owned(),
        Some(_) => name,
    }
}

/// Every character outside `[a-zA-Z0-9]` becomes `_`; runs of `_` become one; leading and
/// trailing `_` are dropped. Colons go too: they are reserved for recording rules.
fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().map(valid_or_underscore) {
        if c != '_' || !(out.is_empty() || out.ends_with('_')) {
            out.push(c);
        }
    }
    let kept = out.trim_end_matches('_').len();
    out.truncate(kept);
    out
}

fn valid_or_underscore(c: char) -> char {
    if c.is_ascii_alphanumeric() {
        c
    } else {
        '_'
    }
}

/// A counter's `_total` is put back at the very end, after the unit.
fn strip_total(name: String) -> String {
    match name.strip_suffix("_total") {
        Some(stem) => stem.to_owned(),
        None if name == "total" => String::new(),
        None => name,
    }
}

/// `true` when `tokens` (like `seconds` or `per_second`) is a whole-token run of `name`.
fn contains_tokens(name: &str, tokens: &str) -> bool {
    format!("_{name}_").contains(&format!("_{tokens}_"))
}

fn push_token(name: &mut String, token: &str) {
    if !name.is_empty() {
        name.push('_');
    }
    name.push_str(token);
}

/// A name may not start with a digit, nor be empty.
fn fix_start(name: String) -> String {
    match name.as_bytes().first() {
        None => "_".to_owned(),
        Some(b'0'..=b'9') => format!("_{name}"),
        Some(_) => name,
    }
}

/// The name suffix for a UCUM unit: `s` -> `seconds`, `By/s` -> `bytes_per_second`, `{call}`
/// -> none (annotations are dropped), `1` -> `ratio` for gauges only, anything else sanitized.
fn unit_suffix(unit: &str, kind: Kind) -> Option<String> {
    let unit = strip_annotations(unit);
    let unit = unit.trim();
    if unit == "1" {
        return (kind == Kind::Gauge).then(|| "ratio".to_owned());
    }
    let (main, per) = match unit.split_once('/') {
        Some((main, per)) => (main, Some(per)),
        None => (unit, None),
    };
    let mut suffix = sanitize(main_unit_word(main.trim()));
    if let Some(per) = per.map(|per| sanitize(per_unit_word(per.trim()))) {
        if !per.is_empty() {
            push_token(&mut suffix, "per");
            push_token(&mut suffix, &per);
        }
    }
    (!suffix.is_empty()).then_some(suffix)
}

/// Removes `{...}` annotations (`{request}`, `By/{packet}`).
fn strip_annotations(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The collector's table of units before a `/`.
fn main_unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        "1" => "",
        other => other,
    }
}

/// The collector's table of units after a `/`.
fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_names_are_kept() {
        let calls = metric_name("function_calls_total", "{call}", Kind::Counter);
        assert_eq!(calls, "function_calls_total");
        let duration = metric_name("function_calls_duration_seconds", "s", Kind::Histogram);
        assert_eq!(duration, "function_calls_duration_seconds");
    }

    #[test]
    fn dotted_otel_counter_gets_underscores_and_total() {
        let name = metric_name("otel.sdk.processor.span.processed", "{span}", Kind::Counter);
        assert_eq!(name, "otel_sdk_processor_span_processed_total");
    }

    #[test]
    fn invalid_characters_collapse_and_trim() {
        let name = metric_name("(lambda).function.executions(#)", "", Kind::Gauge);
        assert_eq!(name, "lambda_function_executions");
        assert_eq!(metric_name("a::b--c", "", Kind::Gauge), "a_b_c");
        assert_eq!(metric_name("héllo wörld", "", Kind::Gauge), "h_llo_w_rld");
    }

    #[test]
    fn leading_digit_and_empty_names_stay_valid() {
        assert_eq!(metric_name("9lives", "", Kind::Gauge), "_9lives");
        assert_eq!(metric_name("...", "", Kind::Gauge), "_");
        assert_eq!(metric_name("total", "", Kind::Counter), "total");
    }

    #[test]
    fn units_become_suffixes() {
        let bytes = metric_name("system.filesystem.usage", "By", Kind::Gauge);
        assert_eq!(bytes, "system_filesystem_usage_bytes");
        let rate = metric_name("net.io", "By/s", Kind::Gauge);
        assert_eq!(rate, "net_io_bytes_per_second");
        let packets = metric_name("system.network.dropped", "packets", Kind::Counter);
        assert_eq!(packets, "system_network_dropped_packets_total");
        let requests = metric_name("http.requests", "{request}/s", Kind::Gauge);
        assert_eq!(requests, "http_requests_per_second");
    }

    #[test]
    fn counter_total_moves_after_the_unit() {
        let name = metric_name("busy_total", "ms", Kind::Counter);
        assert_eq!(name, "busy_milliseconds_total");
    }

    #[test]
    fn ratio_only_for_gauges() {
        assert_eq!(
            metric_name("cpu.utilization", "1", Kind::Gauge),
            "cpu_utilization_ratio"
        );
        assert_eq!(metric_name("retries", "1", Kind::Counter), "retries_total");
    }

    #[test]
    fn unit_already_in_name_is_not_repeated() {
        let name = metric_name("request.duration.seconds.max", "s", Kind::Gauge);
        assert_eq!(name, "request_duration_seconds_max");
        let name = metric_name("latency_milliseconds", "ms", Kind::Histogram);
        assert_eq!(name, "latency_milliseconds");
    }

    #[test]
    fn label_names() {
        assert_eq!(label_name("error.type", Kind::Counter), "error_type");
        assert_eq!(label_name("http.route:v2", Kind::Gauge), "http_route_v2");
        assert_eq!(label_name("2xx", Kind::Gauge), "key_2xx");
        assert_eq!(label_name("__name__", Kind::Gauge), "key__name__");
        assert_eq!(label_name("_private", Kind::Gauge), "_private");
        assert_eq!(label_name("", Kind::Gauge), "key");
        assert_eq!(label_name("le", Kind::Histogram), "key_le");
        assert_eq!(label_name("le", Kind::Counter), "le");
    }
}
