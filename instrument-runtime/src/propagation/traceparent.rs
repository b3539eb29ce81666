//! The `traceparent` header: strict parsing of one value (see the [module docs](crate::propagation) for
//! the rules).

use super::{RemoteContext, FLAG_SAMPLED, MAX_TRACEPARENT_LEN};
use crate::context::id::parse_lower_hex;
use crate::{SpanId, TraceId};
use std::fmt;

/// Length of a version-`00` `traceparent`: `2 + 1 + 32 + 1 + 16 + 1 + 2`.
const TRACEPARENT_V00_LEN: usize = 55;
/// Byte offsets of the three dashes that follow the version, trace id and parent id.
const DASH_AFTER_VERSION: usize = 2;
const DASH_AFTER_TRACE_ID: usize = 35;
const DASH_AFTER_SPAN_ID: usize = 52;

/// Why a `traceparent` value was rejected. Any of these means: start a new trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceparentError {
    /// Longer than [`MAX_TRACEPARENT_LEN`] bytes; not parsed at all.
    TooLong {
        /// Length of the input in bytes.
        len: usize,
    },
    /// Does not start with 2 lowercase hex digits followed by `-`.
    InvalidVersion,
    /// Version `ff`, which the spec forbids.
    ForbiddenVersion,
    /// Not 55 characters (version `00`), or shorter than 55 (higher versions).
    WrongLength {
        /// Length of the input in bytes, after trimming optional whitespace.
        len: usize,
    },
    /// A `-` was expected at this byte offset.
    MissingDash {
        /// Byte offset (0-based) where the dash should be.
        index: usize,
    },
    /// The trace id is not 32 lowercase hex digits.
    InvalidTraceId,
    /// The trace id is all zeros.
    ZeroTraceId,
    /// The parent id is not 16 lowercase hex digits.
    InvalidSpanId,
    /// The parent id is all zeros.
    ZeroSpanId,
    /// The trace flags are not 2 lowercase hex digits.
    InvalidFlags,
}

impl fmt::Display for TraceparentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len } => write!(
                f,
                "traceparent is {len} bytes, more than the {MAX_TRACEPARENT_LEN} accepted"
            ),
            Self::InvalidVersion => {
                f.write_str("traceparent version is not 2 lowercase hex digits followed by '-'")
            }
            Self::ForbiddenVersion => f.write_str("traceparent version ff is forbidden"),
            Self::WrongLength { len } => write!(
                f,
                "traceparent is {len} characters long, expected 55 (or more for a future version)"
            ),
            Self::MissingDash { index } => write!(f, "traceparent has no '-' at offset {index}"),
            Self::InvalidTraceId => f.write_str("trace-id is not 32 lowercase hex digits"),
            Self::ZeroTraceId => f.write_str("trace-id is all zeros"),
            Self::InvalidSpanId => f.write_str("parent-id is not 16 lowercase hex digits"),
            Self::ZeroSpanId => f.write_str("parent-id is all zeros"),
            Self::InvalidFlags => f.write_str("trace-flags is not 2 lowercase hex digits"),
        }
    }
}

impl std::error::Error for TraceparentError {}

/// Parses one `traceparent` value strictly (see the [module docs](crate::propagation) for the rules).
///
/// The result has no `tracestate`; [`extract`](super::extract) adds it. Never panics, whatever the input.
///
/// ```
/// use instrument_runtime::propagation::{parse_traceparent, TraceparentError};
/// let ok = parse_traceparent(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\t");
/// assert!(!ok.unwrap().is_sampled());
/// assert_eq!(
///     parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
///     Err(TraceparentError::InvalidTraceId),
/// );
/// ```
pub fn parse_traceparent(s: &str) -> Result<RemoteContext, TraceparentError> {
    if s.len() > MAX_TRACEPARENT_LEN {
        return Err(TraceparentError::TooLong { len: s.len() });
    }
    let b = trim_ows(s).as_bytes();
    let version = parse_version(b)?;
    check_length(version, b)?;
    expect_dash(b, DASH_AFTER_TRACE_ID)?;
    expect_dash(b, DASH_AFTER_SPAN_ID)?;
    let trace_id = parse_trace_id(&b[DASH_AFTER_VERSION + 1..DASH_AFTER_TRACE_ID])?;
    let span_id = parse_span_id(&b[DASH_AFTER_TRACE_ID + 1..DASH_AFTER_SPAN_ID])?;
    let flags = parse_hex_byte(&b[DASH_AFTER_SPAN_ID + 1..TRACEPARENT_V00_LEN])
        .ok_or(TraceparentError::InvalidFlags)?;
    // Version 00 keeps every bit as received; a future version may give the other bits another
    // meaning, so only its sampled bit is read (spec, "Versioning of traceparent").
    let trace_flags = if version == 0 {
        flags
    } else {
        flags & FLAG_SAMPLED
    };
    Ok(RemoteContext::new(trace_id, span_id, trace_flags))
}

/// Strips HTTP optional whitespace (spaces and horizontal tabs) from both ends.
pub(super) fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// The version byte: 2 lowercase hex digits followed by a dash, and not `ff`.
fn parse_version(b: &[u8]) -> Result<u8, TraceparentError> {
    let version = match b {
        [hi, lo, b'-', ..] => parse_hex_byte(&[*hi, *lo]),
        _ => None,
    };
    match version {
        None => Err(TraceparentError::InvalidVersion),
        Some(0xff) => Err(TraceparentError::ForbiddenVersion),
        Some(v) => Ok(v),
    }
}

/// Version 00: exactly 55 bytes. Higher: at least 55, and a dash right after them if longer.
fn check_length(version: u8, b: &[u8]) -> Result<(), TraceparentError> {
    let len = b.len();
    let wrong = if version == 0 {
        len != TRACEPARENT_V00_LEN
    } else {
        len < TRACEPARENT_V00_LEN
    };
    if wrong {
        return Err(TraceparentError::WrongLength { len });
    }
    if len > TRACEPARENT_V00_LEN {
        expect_dash(b, TRACEPARENT_V00_LEN)?;
    }
    Ok(())
}

fn expect_dash(b: &[u8], index: usize) -> Result<(), TraceparentError> {
    match b.get(index) {
        Some(b'-') => Ok(()),
        _ => Err(TraceparentError::MissingDash { index }),
    }
}

fn parse_trace_id(field: &[u8]) -> Result<TraceId, TraceparentError> {
    let parsed = std::str::from_utf8(field).ok().and_then(TraceId::from_hex);
    match parsed {
        Some(id) => Ok(id),
        None if all_zero_digits(field) => Err(TraceparentError::ZeroTraceId),
        None => Err(TraceparentError::InvalidTraceId),
    }
}

fn parse_span_id(field: &[u8]) -> Result<SpanId, TraceparentError> {
    let parsed = std::str::from_utf8(field).ok().and_then(SpanId::from_hex);
    match parsed {
        Some(id) => Ok(id),
        None if all_zero_digits(field) => Err(TraceparentError::ZeroSpanId),
        None => Err(TraceparentError::InvalidSpanId),
    }
}

fn all_zero_digits(field: &[u8]) -> bool {
    field.iter().all(|&c| c == b'0')
}

/// Exactly two lowercase hex digits.
fn parse_hex_byte(pair: &[u8]) -> Option<u8> {
    parse_lower_hex::<2>(pair).map(|b| b as u8)
}
