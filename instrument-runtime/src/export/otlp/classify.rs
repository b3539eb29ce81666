//! Which export failures are worth retrying, following the OTLP spec's "Failures" sections:
//! <https://opentelemetry.io/docs/specs/otlp/#failures>.
//!
//! - gRPC: `CANCELLED`, `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`, `UNAVAILABLE`,
//!   `DATA_LOSS` are retryable; `RESOURCE_EXHAUSTED` only when the server sent `RetryInfo`;
//!   every other code is permanent.
//! - HTTP: 429, 502, 503, 504 are retryable (with `Retry-After` reported in the message as
//!   `retry-after=<n>s`); other statuses are permanent. A failure to connect is retryable.
//!
//! Nothing is retried here: the exporter thread owns retry, backoff and circuit breaking.

use std::time::{Duration, SystemTime};

use opentelemetry_sdk::error::OTelSdkError;
use tonic::Code;

use crate::ExportError;

/// Classifies an error from any `opentelemetry_sdk` exporter.
///
/// The SDK's error type carries only a message, so this reads what `opentelemetry-otlp`
/// writes there (`gRPC code: Unavailable`, `status code: 503`, `network error`). Exporters
/// that write something else fall back to keyword matching; use
/// [`OtelBridgeBuilder::classify_with`](super::OtelBridgeBuilder::classify_with) to replace
/// this for them.
pub fn classify_sdk_error(error: &OTelSdkError) -> ExportError {
    match error {
        OTelSdkError::Timeout(after) => {
            ExportError::timeout(format!("exporter timed out after {after:?}"))
        }
        OTelSdkError::AlreadyShutdown => ExportError::permanent("exporter already shut down"),
        OTelSdkError::InternalFailure(message) => classify_message(message),
    }
}

fn classify_message(message: &str) -> ExportError {
    if let Some(code) = grpc_code_in(message) {
        return from_grpc_code(code, None, message);
    }
    if let Some(status) = http_status_in(message) {
        return from_http_status(status, None);
    }
    let lower = message.to_ascii_lowercase();
    let transient = [
        "network error",
        "connect",
        "connection",
        "timed out",
        "unavailable",
    ];
    if transient.iter().any(|word| lower.contains(word)) {
        ExportError::retryable(message.to_owned())
    } else {
        ExportError::permanent(message.to_owned())
    }
}

/// Finds `gRPC code: <Name>` (opentelemetry-otlp's wording) and maps the name back through
/// tonic's own `Debug` names, so no table of names is kept here.
fn grpc_code_in(message: &str) -> Option<Code> {
    let rest = &message[message.find("gRPC code: ")? + "gRPC code: ".len()..];
    let name: String = rest
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    (0..=16)
        .map(Code::from_i32)
        .find(|code| format!("{code:?}") == name)
}

/// Finds `status code: <n>` (opentelemetry-otlp's wording for HTTP failures).
fn http_status_in(message: &str) -> Option<u16> {
    let rest = &message[message.find("status code: ")? + "status code: ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Classifies a gRPC status code. `retry_delay` is the server's `RetryInfo`, if it sent one.
pub(crate) fn from_grpc_code(
    code: Code,
    retry_delay: Option<Duration>,
    detail: &str,
) -> ExportError {
    let message = match retry_delay {
        Some(delay) => format!("gRPC {code:?}: {detail} (retry-after={}s)", delay.as_secs()),
        None => format!("gRPC {code:?}: {detail}"),
    };
    match code {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => ExportError::retryable(message),
        Code::ResourceExhausted if retry_delay.is_some() => ExportError::retryable(message),
        _ => ExportError::permanent(message),
    }
}

/// Classifies a gRPC status, reading `RetryInfo` from its details.
pub(crate) fn from_grpc_status(status: &tonic::Status) -> ExportError {
    use tonic_types::StatusExt;
    let delay = status
        .get_details_retry_info()
        .map(|info| info.retry_delay.unwrap_or_default());
    from_grpc_code(status.code(), delay, status.message())
}

/// Classifies an HTTP response status; status 0 means "no response" (network error).
pub(crate) fn from_http_status(status: u16, retry_after: Option<&str>) -> ExportError {
    let retry = retry_after
        .and_then(retry_after_secs)
        .map(|secs| format!(" (retry-after={secs}s)"))
        .unwrap_or_default();
    match status {
        0 => ExportError::retryable("HTTP request failed: network error"),
        429 | 502 | 503 | 504 => ExportError::retryable(format!("HTTP status {status}{retry}")),
        _ => ExportError::permanent(format!("HTTP status {status}")),
    }
}

/// `Retry-After` is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
fn retry_after_secs(value: &str) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .map_or(0, |d| d.as_secs()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExportErrorKind::{Permanent, Retryable, Timeout};

    fn internal(message: &str) -> OTelSdkError {
        OTelSdkError::InternalFailure(message.to_owned())
    }

    #[test]
    fn otlp_grpc_messages() {
        let unavailable =
            "TonicTracesClient export failed with gRPC code: Unavailable: tcp connect error";
        assert_eq!(classify_sdk_error(&internal(unavailable)).kind, Retryable);
        let invalid = "TonicLogsClient export failed with gRPC code: InvalidArgument";
        assert_eq!(classify_sdk_error(&internal(invalid)).kind, Permanent);
        let exhausted = "export failed with gRPC code: ResourceExhausted";
        assert_eq!(classify_sdk_error(&internal(exhausted)).kind, Permanent);
        let deadline = "export failed with gRPC code: DeadlineExceeded";
        assert_eq!(classify_sdk_error(&internal(deadline)).kind, Retryable);
    }

    #[test]
    fn otlp_http_messages() {
        let busy = "HTTP export failed with status code: 503";
        assert_eq!(classify_sdk_error(&internal(busy)).kind, Retryable);
        let bad = "HTTP export failed with status code: 400";
        assert_eq!(classify_sdk_error(&internal(bad)).kind, Permanent);
        let down = "HTTP export failed: network error";
        assert_eq!(classify_sdk_error(&internal(down)).kind, Retryable);
        assert_eq!(
            classify_sdk_error(&OTelSdkError::Timeout(Duration::ZERO)).kind,
            Timeout
        );
        assert_eq!(
            classify_sdk_error(&internal("encoding failed")).kind,
            Permanent
        );
    }

    #[test]
    fn http_statuses_and_retry_after() {
        for status in [429, 502, 503, 504] {
            assert_eq!(from_http_status(status, None).kind, Retryable, "{status}");
        }
        for status in [400, 401, 404, 413, 500] {
            assert_eq!(from_http_status(status, None).kind, Permanent, "{status}");
        }
        let err = from_http_status(503, Some("2"));
        assert!(err.message.contains("retry-after=2s"), "{}", err.message);
    }

    #[test]
    fn retry_after_dates() {
        assert_eq!(retry_after_secs(" 5 "), Some(5));
        assert_eq!(retry_after_secs("Wed, 21 Oct 2015 07:28:00 GMT"), Some(0));
        assert_eq!(retry_after_secs("soon"), None);
    }

    #[test]
    fn resource_exhausted_needs_retry_info() {
        let delay = Some(Duration::from_secs(3));
        let err = from_grpc_code(Code::ResourceExhausted, delay, "slow down");
        assert_eq!(err.kind, Retryable);
        assert!(err.message.contains("retry-after=3s"));
        assert_eq!(
            from_grpc_code(Code::ResourceExhausted, None, "").kind,
            Permanent
        );
        assert_eq!(
            from_grpc_code(Code::Unauthenticated, None, "").kind,
            Permanent
        );
    }
}
