//! W3C Trace Context propagation: a strict `traceparent` parser, `tracestate` pass-through, and
//! the carrier traits that read and write them.
//!
//! The parser follows the W3C Trace Context specification (Level 1, with Level 2's
//! random-trace-id flag) and its official test suite (`w3c/trace-context`, `test/test.py`):
//!
//! - **Fields.** Version is 2 lowercase hex digits; `ff` is forbidden. Trace id, parent (span) id
//!   and flags are exactly 32, 16 and 2 lowercase hex digits, separated by single dashes. No
//!   uppercase, no `+`/`-` signs, no short or long fields. All-zero ids are invalid.
//! - **Length.** Version `00` is exactly 55 characters. A higher version (`01`..`fe`) is parsed by
//!   the version-`00` rules on its first 55 characters; anything after them must start with `-`,
//!   and is ignored (the spec forbids assuming anything about unknown fields).
//! - **Whitespace.** Leading and trailing spaces and tabs (HTTP optional whitespace) are ignored,
//!   as the suite's `test_traceparent_ows_handling` requires. No other whitespace is trimmed.
//! - **Flags.** Any two lowercase hex digits are accepted for version `00` and kept as received
//!   in [`RemoteContext::trace_flags`], so the header round-trips through `Display`. Only the
//!   known bits ([`FLAG_SAMPLED`], and Level 2's [`FLAG_RANDOM_TRACE_ID`]) are ever *sent*:
//!   [`inject_context`] masks the rest, because the spec says vendors MUST set unknown flags to
//!   zero. For a higher version only the sampled bit is read, as the spec's versioning rules say.
//! - **Size.** Inputs longer than [`MAX_TRACEPARENT_LEN`] bytes are rejected before any parsing.
//!
//! An invalid `traceparent` never panics and never errors out of [`extract`]: it yields `None`,
//! and the caller starts a new trace. `tracestate` is only read when `traceparent` is valid, and an
//! invalid `tracestate` is dropped without affecting `traceparent`.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;

use crate::context::id::parse_lower_hex;
use crate::{SpanId, TraceId};

/// Header name of the W3C `traceparent` header (lowercase, as the spec says to send it).
pub const TRACEPARENT: &str = "traceparent";
/// Header name of the W3C `tracestate` header (lowercase, as the spec says to send it).
pub const TRACESTATE: &str = "tracestate";

/// The `sampled` trace flag (`0x01`): the caller may have recorded trace data.
pub use crate::context::span_context::FLAG_SAMPLED;
/// The Level 2 `random-trace-id` trace flag: at least the right-most 7 bytes of the trace id are
/// random. Preserved when propagating the same trace id.
pub const FLAG_RANDOM_TRACE_ID: u8 = 0x02;
/// The flag bits this crate knows and sends; [`inject_context`] clears every other bit.
pub const KNOWN_FLAGS: u8 = FLAG_SAMPLED | FLAG_RANDOM_TRACE_ID;

/// Longest `traceparent` value considered at all; longer inputs are rejected before parsing.
pub const MAX_TRACEPARENT_LEN: usize = 512;
/// Longest combined `tracestate` value accepted (the spec asks for at least 512 and for the
/// limit to be documented); a longer one is dropped.
pub const MAX_TRACESTATE_LEN: usize = 8192;
/// Most list members a `tracestate` may have (spec limit); more makes it invalid.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// Length of a version-`00` `traceparent`: `2 + 1 + 32 + 1 + 16 + 1 + 2`.
const TRACEPARENT_V00_LEN: usize = 55;
/// Byte offsets of the three dashes that follow the version, trace id and parent id.
const DASH_AFTER_VERSION: usize = 2;
const DASH_AFTER_TRACE_ID: usize = 35;
const DASH_AFTER_SPAN_ID: usize = 52;

/// A trace context received from (or to be sent to) another process.
///
/// `Display` writes the version-`00` `traceparent` value with the flags *as received*, so a
/// version-`00` header that was accepted prints back identically. What is put on the wire by
/// [`inject_context`] is [`RemoteContext::traceparent`], which masks unknown flag bits.
///
/// ```
/// use instrument_runtime::propagation::parse_traceparent;
/// let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// let ctx = parse_traceparent(header).unwrap();
/// assert!(ctx.is_sampled());
/// assert_eq!(ctx.to_string(), header);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RemoteContext {
    /// The trace this context belongs to.
    pub trace_id: TraceId,
    /// The caller's span (the spec's `parent-id`).
    pub span_id: SpanId,
    /// The 8 trace-flag bits as received; test bits with [`RemoteContext::is_sampled`].
    pub trace_flags: u8,
    /// The validated, normalised `tracestate` (members joined by `,`), if any.
    pub tracestate: Option<String>,
}

impl RemoteContext {
    /// A context with these ids and flags and no `tracestate`.
    pub fn new(trace_id: TraceId, span_id: SpanId, trace_flags: u8) -> Self {
        RemoteContext {
            trace_id,
            span_id,
            trace_flags,
            tracestate: None,
        }
    }

    /// Whether the caller set the `sampled` flag (bit `0x01`, tested with a mask).
    pub fn is_sampled(&self) -> bool {
        self.trace_flags & FLAG_SAMPLED == FLAG_SAMPLED
    }

    /// Whether the caller set the Level 2 `random-trace-id` flag (bit `0x02`).
    pub fn is_random_trace_id(&self) -> bool {
        self.trace_flags & FLAG_RANDOM_TRACE_ID == FLAG_RANDOM_TRACE_ID
    }

    /// `false` if either id is all zeros (such a context is never injected).
    pub fn is_valid(&self) -> bool {
        self.trace_id.is_valid() && self.span_id.is_valid()
    }

    /// The `traceparent` value to send: version `00`, unknown flag bits cleared.
    pub fn traceparent(&self) -> String {
        format_traceparent(self.trace_id, self.span_id, self.trace_flags & KNOWN_FLAGS)
    }
}

impl fmt::Display for RemoteContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id, self.span_id, self.trace_flags
        )
    }
}

fn format_traceparent(trace_id: TraceId, span_id: SpanId, flags: u8) -> String {
    format!("00-{trace_id}-{span_id}-{flags:02x}")
}

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

/// Parses one `traceparent` value strictly (see the [module docs](self) for the rules).
///
/// The result has no `tracestate`; [`extract`] adds it. Never panics, whatever the input.
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
fn trim_ows(s: &str) -> &str {
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

/// Combines `tracestate` header values (in order, joined by `,` as RFC 7230 says) and validates
/// them. Returns the normalised list (optional whitespace and empty members removed), or `None`
/// if there is no member or the header is invalid, in which case it must be dropped.
///
/// Invalid means: more than [`MAX_TRACESTATE_MEMBERS`] members, a duplicated key, a member that
/// is not `key=value` by the spec's grammar, or more than [`MAX_TRACESTATE_LEN`] bytes in total.
/// Keys follow the Level 1 grammar (`simple-key` or `tenant@system`, with Level 2's relaxation
/// that a key may start with a digit); values are 1 to 256 printable ASCII characters other
/// than `,` and `=`, not ending in a space.
///
/// ```
/// use instrument_runtime::propagation::parse_tracestate;
/// assert_eq!(parse_tracestate(["rojo=1, congo=2", ""]).as_deref(), Some("rojo=1,congo=2"));
/// assert_eq!(parse_tracestate(["foo=1,foo=2"]), None);
/// ```
pub fn parse_tracestate<'a, I>(values: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut out = String::new();
    let mut keys: Vec<&str> = Vec::new();
    let mut total = 0usize;
    for value in values {
        total = total.saturating_add(value.len() + 1);
        if total > MAX_TRACESTATE_LEN + 1 {
            return None;
        }
        for member in value.split(',').map(trim_ows).filter(|m| !m.is_empty()) {
            let key = validate_member(member)?;
            if keys.len() == MAX_TRACESTATE_MEMBERS || keys.contains(&key) {
                return None;
            }
            keys.push(key);
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(member);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Checks one non-empty, trimmed `key=value` list member and returns its key.
fn validate_member(member: &str) -> Option<&str> {
    let (key, value) = member.split_once('=')?;
    (is_valid_key(key) && is_valid_value(value)).then_some(key)
}

fn is_valid_key(key: &str) -> bool {
    match key.split_once('@') {
        None => is_key_part(key, 256, |c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        Some((tenant, system)) => {
            is_key_part(tenant, 241, |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit()
            }) && is_key_part(system, 14, |c| c.is_ascii_lowercase())
        }
    }
}

/// 1..=`max` key characters (`a-z 0-9 _ - * /`), the first one accepted by `first`.
fn is_key_part(part: &str, max: usize, first: fn(&u8) -> bool) -> bool {
    let b = part.as_bytes();
    let is_keychar = |c: &u8| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(*c, b'_' | b'-' | b'*' | b'/')
    };
    !b.is_empty() && b.len() <= max && first(&b[0]) && b.iter().all(is_keychar)
}

fn is_valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    let is_chr = |c: &u8| matches!(*c, 0x20..=0x7e) && *c != b',' && *c != b'=';
    !b.is_empty() && b.len() <= 256 && b.iter().all(is_chr) && b.last() != Some(&b' ')
}

/// Read access to a carrier of string headers (HTTP headers, message metadata...).
///
/// Header names are case-insensitive: implementations must find `key` whatever its case.
pub trait Extractor {
    /// One value of header `key` (any case), if present.
    fn get(&self, key: &str) -> Option<&str>;

    /// Every value of header `key` (any case), in order. The default returns [`Extractor::get`]'s
    /// value only; carriers that can hold repeated headers should override it, so that duplicate
    /// `traceparent` headers are detected and `tracestate` headers are combined.
    fn get_all(&self, key: &str) -> Vec<&str> {
        self.get(key).into_iter().collect()
    }
}

/// Write access to a carrier of string headers.
pub trait Injector {
    /// Sets header `key` to `value`, replacing any previous value of that header.
    fn set(&mut self, key: &str, value: String);
}

/// Header names are matched case-insensitively: the exact key is tried first, then every key is
/// scanned. [`Extractor::get_all`] returns the values of all keys that match, sorted by key, so
/// a map holding both `traceparent` and `TraceParent` has a duplicated `traceparent`.
impl<S: BuildHasher> Extractor for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        HashMap::get(self, key)
            .or_else(|| {
                self.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }

    fn get_all(&self, key: &str) -> Vec<&str> {
        let mut matches: Vec<(&String, &String)> = self
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .collect();
        matches.sort_unstable_by_key(|(k, _)| *k);
        matches.into_iter().map(|(_, v)| v.as_str()).collect()
    }
}

/// Removes every key equal to `key` ignoring case, then inserts `key` as given (the crate always
/// passes lowercase names).
impl<S: BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(key));
        self.insert(key.to_owned(), value);
    }
}

#[cfg(feature = "http")]
mod http_carrier {
    //! `http::HeaderMap` as a carrier (feature `http`).

    use super::{Extractor, Injector};
    use http::{HeaderMap, HeaderName, HeaderValue};

    /// Stands in for a header value that is not visible ASCII: it is invalid as a `traceparent`
    /// and as a `tracestate` member, so such a header is rejected rather than silently skipped.
    const UNREADABLE: &str = "\u{fffd}";

    /// `HeaderMap` lookups are case-insensitive; repeated headers are all returned in order.
    impl Extractor for HeaderMap {
        fn get(&self, key: &str) -> Option<&str> {
            HeaderMap::get(self, key).map(|v| v.to_str().unwrap_or(UNREADABLE))
        }

        fn get_all(&self, key: &str) -> Vec<&str> {
            HeaderMap::get_all(self, key)
                .iter()
                .map(|v| v.to_str().unwrap_or(UNREADABLE))
                .collect()
        }
    }

    /// Replaces every value of the header. A name or value that is not a valid HTTP header is
    /// skipped (it cannot be produced by [`super::inject_context`]).
    impl Injector for HeaderMap {
        fn set(&mut self, key: &str, value: String) {
            let name = HeaderName::from_bytes(key.as_bytes());
            let value = HeaderValue::try_from(value);
            if let (Ok(name), Ok(value)) = (name, value) {
                self.insert(name, value);
            }
        }
    }
}

/// Reads the remote trace context from `carrier`.
///
/// Returns `None` when there is no `traceparent`, when there is more than one, or when it is
/// invalid: the caller then starts a new trace. Never panics, whatever the headers contain.
/// `tracestate` is read only when `traceparent` is valid; an invalid one is dropped.
///
/// ```
/// use std::collections::HashMap;
/// use instrument_runtime::propagation::extract;
///
/// let mut headers = HashMap::new();
/// headers.insert(
///     "TraceParent".to_string(),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
/// );
/// headers.insert("tracestate".to_string(), "rojo=00f067aa0ba902b7".to_string());
/// let ctx = extract(&headers).expect("valid traceparent");
/// assert_eq!(ctx.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(ctx.is_sampled());
/// assert_eq!(ctx.tracestate.as_deref(), Some("rojo=00f067aa0ba902b7"));
///
/// // Uppercase hex is invalid: a new trace starts.
/// let mut bad = HashMap::new();
/// bad.insert(
///     "traceparent".to_string(),
///     "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".to_string(),
/// );
/// assert_eq!(extract(&bad), None);
/// ```
pub fn extract(carrier: &impl Extractor) -> Option<RemoteContext> {
    let [traceparent] = carrier.get_all(TRACEPARENT)[..] else {
        return None;
    };
    let mut ctx = parse_traceparent(traceparent).ok()?;
    ctx.tracestate = parse_tracestate(carrier.get_all(TRACESTATE));
    Some(ctx)
}

/// Writes `ctx` into `carrier`: `traceparent` (always version `00`, unknown flag bits cleared)
/// and, if present and valid, the normalised `tracestate`.
///
/// An invalid context (an all-zero id) is not written, nor is an invalid `tracestate`.
/// Existing headers that are not overwritten are left alone.
pub fn inject_context(ctx: &RemoteContext, carrier: &mut impl Injector) {
    if !ctx.is_valid() {
        return;
    }
    carrier.set(TRACEPARENT, ctx.traceparent());
    if let Some(state) = ctx
        .tracestate
        .as_deref()
        .and_then(|s| parse_tracestate([s]))
    {
        carrier.set(TRACESTATE, state);
    }
}

/// Writes the CURRENT span's `traceparent` into an outgoing carrier (nothing outside a span),
/// so the callee continues this trace.
///
/// ```
/// use std::collections::HashMap;
/// use instrument_runtime::{instrument, propagation};
///
/// #[instrument]
/// fn call_downstream() -> HashMap<String, String> {
///     let mut headers = HashMap::new();
///     propagation::inject(&mut headers);
///     headers
/// }
/// let headers = call_downstream();
/// assert_eq!(headers["traceparent"].len(), 55);
/// ```
pub fn inject(carrier: &mut impl Injector) {
    if let Some(ctx) = crate::current_span_context() {
        inject_context(&RemoteContext::from(ctx), carrier);
    }
}

impl From<crate::SpanContext> for RemoteContext {
    fn from(c: crate::SpanContext) -> Self {
        RemoteContext::new(c.trace_id, c.span_id, c.trace_flags)
    }
}

impl From<&RemoteContext> for crate::SpanContext {
    fn from(r: &RemoteContext) -> Self {
        crate::SpanContext {
            trace_id: r.trace_id,
            span_id: r.span_id,
            trace_flags: r.trace_flags & FLAG_SAMPLED,
        }
    }
}

impl From<RemoteContext> for crate::SpanContext {
    fn from(r: RemoteContext) -> Self {
        (&r).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "12345678901234567890123456789012";
    const SPAN: &str = "1234567890123456";
    const VALID: &str = "00-12345678901234567890123456789012-1234567890123456-01";

    /// An ordered list of headers that may repeat, like a raw HTTP request.
    #[derive(Debug, Default)]
    struct Headers(Vec<(String, String)>);

    impl Headers {
        fn new(pairs: &[(&str, &str)]) -> Self {
            Headers(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
        }
    }

    impl Extractor for Headers {
        fn get(&self, key: &str) -> Option<&str> {
            self.get_all(key).first().copied()
        }
        fn get_all(&self, key: &str) -> Vec<&str> {
            self.0
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
                .collect()
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Expect {
        /// Accepted: this trace id, parent id and flags are continued.
        Accept(&'static str, &'static str, u8),
        /// The single `traceparent` is rejected for this reason: new trace.
        Invalid(TraceparentError),
        /// No usable `traceparent` header (missing, misnamed, duplicated): new trace.
        NewTrace,
    }

    use Expect::{Accept, Invalid, NewTrace};

    /// Request headers, in order, as (name, value).
    type HeaderList = &'static [(&'static str, &'static str)];
    /// (W3C test name, request headers, expected outcome).
    type TraceparentCase = (&'static str, HeaderList, Expect);
    /// (W3C test name, `tracestate` headers sent with a valid `traceparent`, expected result).
    type TracestateCase = (&'static str, Vec<(&'static str, String)>, Option<String>);
    use TraceparentError as E;

    /// Every `traceparent` case of the W3C suite (`w3c/trace-context`, `test/test.py`), one row
    /// per request the harness sends: (test name, request headers, expected outcome).
    #[rustfmt::skip]
    const W3C_TRACEPARENT_CASES: &[TraceparentCase] = &[
        ("test_both_traceparent_and_tracestate_missing", &[], NewTrace),
        ("test_traceparent_included_tracestate_missing",
            &[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01")], Accept(TRACE, SPAN, 1)),
        ("test_traceparent_duplicated", &[
            ("traceparent", "00-12345678901234567890123456789011-1234567890123456-01"),
            ("traceparent", "00-12345678901234567890123456789012-1234567890123456-01"),
        ], NewTrace),
        ("test_traceparent_header_name",
            &[("trace-parent", "00-12345678901234567890123456789012-1234567890123456-01")], NewTrace),
        ("test_traceparent_header_name",
            &[("trace.parent", "00-12345678901234567890123456789012-1234567890123456-01")], NewTrace),
        ("test_traceparent_header_name_valid_casing",
            &[("TraceParent", "00-12345678901234567890123456789012-1234567890123456-01")], Accept(TRACE, SPAN, 1)),
        ("test_traceparent_header_name_valid_casing",
            &[("TrAcEpArEnT", "00-12345678901234567890123456789012-1234567890123456-01")], Accept(TRACE, SPAN, 1)),
        ("test_traceparent_header_name_valid_casing",
            &[("TRACEPARENT", "00-12345678901234567890123456789012-1234567890123456-01")], Accept(TRACE, SPAN, 1)),
        ("test_traceparent_version_0x00",
            &[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01.")], Invalid(E::WrongLength { len: 56 })),
        ("test_traceparent_version_0x00",
            &[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like")],
            Invalid(E::WrongLength { len: 84 })),
        ("test_traceparent_version_0xcc",
            &[("traceparent", "cc-12345678901234567890123456789012-1234567890123456-01")], Accept(TRACE, SPAN, 1)),
        ("test_traceparent_version_0xcc",
            &[("traceparent", "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like")],
            Accept(TRACE, SPAN, 1)),
        ("test_traceparent_version_0xcc",
            &[("traceparent", "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like")],
            Invalid(E::MissingDash { index: 55 })),
        ("test_traceparent_version_0xff",
            &[("traceparent", "ff-12345678901234567890123456789012-1234567890123456-01")], Invalid(E::ForbiddenVersion)),
        ("test_traceparent_version_illegal_characters",
            &[("traceparent", ".0-12345678901234567890123456789012-1234567890123456-01")], Invalid(E::InvalidVersion)),
        ("test_traceparent_version_illegal_characters",
            &[("traceparent", "0.-12345678901234567890123456789012-1234567890123456-01")], Invalid(E::InvalidVersion)),
        ("test_traceparent_version_too_long",
            &[("traceparent", "000-12345678901234567890123456789012-1234567890123456-01")], Invalid(E::InvalidVersion)),
        ("test_traceparent_version_too_long",
            &[("traceparent", "0000-12345678901234567890123456789012-1234567890123456-01")], Invalid(E::InvalidVersion)),
        ("test_traceparent_version_too_short",
            &[("traceparent", "0-12345678901234567890123456789012-1234567890123456-01")], Invalid(E::InvalidVersion)),
        ("test_traceparent_trace_id_all_zero",
            &[("traceparent", "00-00000000000000000000000000000000-1234567890123456-01")], Invalid(E::ZeroTraceId)),
        ("test_traceparent_trace_id_illegal_characters",
            &[("traceparent", "00-.2345678901234567890123456789012-1234567890123456-01")], Invalid(E::InvalidTraceId)),
        ("test_traceparent_trace_id_illegal_characters",
            &[("traceparent", "00-1234567890123456789012345678901.-1234567890123456-01")], Invalid(E::InvalidTraceId)),
        ("test_traceparent_trace_id_too_long",
            &[("traceparent", "00-123456789012345678901234567890123-1234567890123456-01")], Invalid(E::WrongLength { len: 56 })),
        ("test_traceparent_trace_id_too_short",
            &[("traceparent", "00-1234567890123456789012345678901-1234567890123456-01")], Invalid(E::WrongLength { len: 54 })),
        ("test_traceparent_parent_id_all_zero",
            &[("traceparent", "00-12345678901234567890123456789012-0000000000000000-01")], Invalid(E::ZeroSpanId)),
        ("test_traceparent_parent_id_illegal_characters",
            &[("traceparent", "00-12345678901234567890123456789012-.234567890123456-01")], Invalid(E::InvalidSpanId)),
        ("test_traceparent_parent_id_illegal_characters",
            &[("traceparent", "00-12345678901234567890123456789012-123456789012345.-01")], Invalid(E::InvalidSpanId)),
        ("test_traceparent_parent_id_too_long",
            &[("traceparent", "00-12345678901234567890123456789012-12345678901234567-01")], Invalid(E::WrongLength { len: 56 })),
        ("test_traceparent_parent_id_too_short",
            &[("traceparent", "00-12345678901234567890123456789012-123456789012345-01")], Invalid(E::WrongLength { len: 54 })),
        ("test_traceparent_trace_flags_illegal_characters",
            &[("traceparent", "00-12345678901234567890123456789012-1234567890123456-.0")], Invalid(E::InvalidFlags)),
        ("test_traceparent_trace_flags_illegal_characters",
            &[("traceparent", "00-12345678901234567890123456789012-1234567890123456-0.")], Invalid(E::InvalidFlags)),
        ("test_traceparent_trace_flags_too_long",
            &[("traceparent", "00-12345678901234567890123456789012-1234567890123456-001")], Invalid(E::WrongLength { len: 56 })),
        ("test_traceparent_trace_flags_too_short",
            &[("traceparent", "00-12345678901234567890123456789012-1234567890123456-1")], Invalid(E::WrongLength { len: 54 })),
        ("test_traceparent_ows_handling",
            &[("traceparent", " 00-12345678901234567890123456789012-1234567890123456-01")], Accept(TRACE, SPAN, 1)),
        ("test_traceparent_ows_handling",
            &[("traceparent", "\t00-12345678901234567890123456789012-1234567890123456-01")], Accept(TRACE, SPAN, 1)),
        ("test_traceparent_ows_handling",
            &[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01 ")], Accept(TRACE, SPAN, 1)),
        ("test_traceparent_ows_handling",
            &[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01\t")], Accept(TRACE, SPAN, 1)),
        ("test_traceparent_ows_handling",
            &[("traceparent", "\t 00-12345678901234567890123456789012-1234567890123456-01 \t")], Accept(TRACE, SPAN, 1)),
        ("test_tracestate_included_traceparent_missing", &[("tracestate", "foo=1")], NewTrace),
        ("test_tracestate_included_traceparent_missing", &[("tracestate", "foo=1,bar=2")], NewTrace),
        ("AdvancedTest.test_multiple_requests_with_valid_traceparent",
            &[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01")], Accept(TRACE, SPAN, 1)),
        ("AdvancedTest.test_multiple_requests_without_traceparent", &[], NewTrace),
        ("AdvancedTest.test_multiple_requests_with_illegal_traceparent",
            &[("traceparent", "00-00000000000000000000000000000000-1234567890123456-01")], Invalid(E::ZeroTraceId)),
    ];

    fn check_traceparent_case(
        name: &str,
        headers: &[(&str, &str)],
        expect: Expect,
        got: Option<RemoteContext>,
    ) {
        match expect {
            Accept(trace, span, flags) => {
                let ctx = got.unwrap_or_else(|| panic!("{name} {headers:?}: rejected"));
                assert_eq!(ctx.trace_id.to_string(), trace, "{name} {headers:?}");
                assert_eq!(ctx.span_id.to_string(), span, "{name} {headers:?}");
                assert_eq!(ctx.trace_flags, flags, "{name} {headers:?}");
            }
            Invalid(err) => {
                assert_eq!(got, None, "{name} {headers:?}: accepted");
                let [(_, value)] = headers else {
                    panic!("{name}: an Invalid row has one header")
                };
                assert_eq!(parse_traceparent(value), Err(err), "{name} {headers:?}");
            }
            NewTrace => assert_eq!(got, None, "{name} {headers:?}: accepted"),
        }
    }

    #[test]
    fn w3c_traceparent_suite() {
        for &(name, headers, expect) in W3C_TRACEPARENT_CASES {
            let got = extract(&Headers::new(headers));
            check_traceparent_case(name, headers, expect, got);
        }
        assert_eq!(W3C_TRACEPARENT_CASES.len(), 43);
    }

    /// The suite's `tracestate` cases: (test name, `tracestate` values sent with a valid
    /// `traceparent`, expected normalised tracestate).
    #[rustfmt::skip]
    fn w3c_tracestate_cases() -> Vec<TracestateCase> {
        let ts = |vals: &[&str]| -> Vec<(&'static str, String)> {
            vals.iter().map(|v| ("tracestate", (*v).to_owned())).collect()
        };
        let some = |s: &str| Some(s.to_owned());
        let key_plain = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
        let key_vendor = format!("{key_plain}@a-z0-9_-*/");
        let value: String = (0x20u8..=0x7e)
            .filter(|c| *c != b',' && *c != b'=')
            .map(char::from)
            .collect();
        let count = |from: usize, to: usize| -> String {
            (from..=to)
                .map(|i| format!("bar{i:02}={i:02}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        vec![
            ("test_tracestate_included_traceparent_included", ts(&["foo=1,bar=2"]), some("foo=1,bar=2")),
            ("test_tracestate_header_name", vec![("trace-state", "foo=1".into())], None),
            ("test_tracestate_header_name", vec![("trace.state", "foo=1".into())], None),
            ("test_tracestate_header_name_valid_casing", vec![("TraceState", "foo=1".into())], some("foo=1")),
            ("test_tracestate_header_name_valid_casing", vec![("TrAcEsTaTe", "foo=1".into())], some("foo=1")),
            ("test_tracestate_header_name_valid_casing", vec![("TRACESTATE", "foo=1".into())], some("foo=1")),
            ("test_tracestate_empty_header", ts(&[""]), None),
            ("test_tracestate_empty_header", ts(&["foo=1", ""]), some("foo=1")),
            ("test_tracestate_empty_header", ts(&["", "foo=1"]), some("foo=1")),
            ("test_tracestate_multiple_headers_different_keys", ts(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]),
                some("foo=1,bar=2,rojo=1,congo=2,baz=3")),
            ("test_tracestate_duplicated_keys", ts(&["foo=1,foo=1"]), None),
            ("test_tracestate_duplicated_keys", ts(&["foo=1,foo=2"]), None),
            ("test_tracestate_duplicated_keys", ts(&["foo=1", "foo=1"]), None),
            ("test_tracestate_duplicated_keys", ts(&["foo=1", "foo=2"]), None),
            ("test_tracestate_all_allowed_characters", ts(&[&format!("{key_plain}={value}")]),
                Some(format!("{key_plain}={value}"))),
            ("test_tracestate_all_allowed_characters", ts(&[&format!("{key_vendor}={value}")]),
                Some(format!("{key_vendor}={value}"))),
            ("test_tracestate_ows_handling", ts(&["foo=1 \t , \t bar=2, \t baz=3"]), some("foo=1,bar=2,baz=3")),
            ("test_tracestate_ows_handling", ts(&["foo=1\t \t,\t \tbar=2,\t \tbaz=3"]), some("foo=1,bar=2,baz=3")),
            ("test_tracestate_ows_handling", ts(&[" foo=1"]), some("foo=1")),
            ("test_tracestate_ows_handling", ts(&["\tfoo=1"]), some("foo=1")),
            ("test_tracestate_ows_handling", ts(&["foo=1 "]), some("foo=1")),
            ("test_tracestate_ows_handling", ts(&["foo=1\t"]), some("foo=1")),
            ("test_tracestate_ows_handling", ts(&["\t foo=1 \t"]), some("foo=1")),
            ("test_tracestate_key_illegal_characters", ts(&["foo =1"]), None),
            ("test_tracestate_key_illegal_characters", ts(&["FOO=1"]), None),
            ("test_tracestate_key_illegal_characters", ts(&["foo.bar=1"]), None),
            ("test_tracestate_key_illegal_vendor_format", ts(&["foo@=1,bar=2"]), None),
            ("test_tracestate_key_illegal_vendor_format", ts(&["@foo=1,bar=2"]), None),
            ("test_tracestate_key_illegal_vendor_format", ts(&["foo@@bar=1,bar=2"]), None),
            ("test_tracestate_key_illegal_vendor_format", ts(&["foo@bar@baz=1,bar=2"]), None),
            ("test_tracestate_member_count_limit",
                ts(&[&count(1, 10), &count(11, 20), &count(21, 30), &count(31, 32)]), Some(count(1, 32))),
            ("test_tracestate_member_count_limit",
                ts(&[&count(1, 10), &count(11, 20), &count(21, 30), &count(31, 33)]), None),
            ("test_tracestate_key_length_limit", ts(&["foo=1", &format!("{}=1", "z".repeat(256))]),
                Some(format!("foo=1,{}=1", "z".repeat(256)))),
            ("test_tracestate_key_length_limit", ts(&["foo=1", &format!("{}=1", "z".repeat(257))]), None),
            ("test_tracestate_key_length_limit", ts(&["foo=1", &format!("{}@{}=1", "t".repeat(241), "v".repeat(14))]),
                Some(format!("foo=1,{}@{}=1", "t".repeat(241), "v".repeat(14)))),
            ("test_tracestate_key_length_limit", ts(&["foo=1", &format!("{}@v=1", "t".repeat(242))]), None),
            ("test_tracestate_key_length_limit", ts(&["foo=1", &format!("t@{}=1", "v".repeat(15))]), None),
            ("test_tracestate_value_illegal_characters", ts(&["foo=bar=baz"]), None),
            ("test_tracestate_value_illegal_characters", ts(&["foo=,bar=3"]), None),
        ]
    }

    #[test]
    fn w3c_tracestate_suite() {
        let parent = "00-12345678901234567890123456789012-1234567890123456-00";
        for (name, state, expected) in w3c_tracestate_cases() {
            let mut headers = Headers::new(&[("traceparent", parent)]);
            headers
                .0
                .extend(state.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            let ctx = extract(&headers).unwrap_or_else(|| panic!("{name}: traceparent rejected"));
            assert_eq!(ctx.trace_id.to_string(), TRACE, "{name}");
            assert_eq!(ctx.tracestate, expected, "{name} {state:?}");
        }
    }

    #[test]
    fn errors_have_messages() {
        for (err, needle) in [
            (E::TooLong { len: 600 }, "600"),
            (E::InvalidVersion, "version"),
            (E::ForbiddenVersion, "ff"),
            (E::WrongLength { len: 54 }, "54"),
            (E::MissingDash { index: 35 }, "35"),
            (E::InvalidTraceId, "trace-id"),
            (E::ZeroTraceId, "zeros"),
            (E::InvalidSpanId, "parent-id"),
            (E::ZeroSpanId, "zeros"),
            (E::InvalidFlags, "flags"),
        ] {
            let msg = err.to_string();
            assert!(msg.contains(needle), "{msg}");
            let _: &dyn std::error::Error = &err;
        }
    }

    #[test]
    fn strictness_beyond_the_suite() {
        let cases: &[(&str, TraceparentError)] = &[
            ("", E::InvalidVersion),
            ("00-", E::WrongLength { len: 3 }),
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                E::InvalidTraceId,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
                E::InvalidSpanId,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
                E::InvalidFlags,
            ),
            (
                "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                E::InvalidVersion,
            ),
            (
                "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                E::InvalidTraceId,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-+0f067aa0ba902b7-01",
                E::InvalidSpanId,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-+1",
                E::InvalidFlags,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
                E::MissingDash { index: 35 },
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
                E::MissingDash { index: 52 },
            ),
            // A short field padded back to length 55 by a longer neighbour.
            (
                "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",
                E::MissingDash { index: 35 },
            ),
            (
                "\n00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                E::InvalidVersion,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r",
                E::WrongLength { len: 56 },
            ),
            (
                "\u{a0}00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                E::InvalidVersion,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01",
                E::InvalidTraceId,
            ),
            (
                "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
                E::WrongLength { len: 54 },
            ),
        ];
        for (input, err) in cases {
            assert_eq!(parse_traceparent(input), Err(*err), "{input:?}");
        }
        let huge = format!("{VALID}-{}", "a".repeat(600));
        assert_eq!(
            parse_traceparent(&huge),
            Err(E::TooLong { len: huge.len() })
        );
        // Exactly at the limit a future version is still parsed.
        let at_limit = format!("01{}", &huge[2..MAX_TRACEPARENT_LEN]);
        assert!(parse_traceparent(&at_limit).is_ok());
    }

    #[test]
    fn flags_are_kept_on_read_and_masked_on_write() {
        let ctx =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff").unwrap();
        assert_eq!(ctx.trace_flags, 0xff);
        assert!(ctx.is_sampled() && ctx.is_random_trace_id());
        assert!(ctx.to_string().ends_with("-ff"));
        assert!(ctx.traceparent().ends_with("-03"));
        let even =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-08").unwrap();
        assert!(!even.is_sampled(), "flags are a bit field, not a number");
        assert!(even.traceparent().ends_with("-00"));
        // A future version: only the sampled bit is read.
        let future =
            parse_traceparent("fe-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03").unwrap();
        assert_eq!(future.trace_flags, FLAG_SAMPLED);
        assert!(future.to_string().starts_with("00-"));
    }

    /// xorshift64*: deterministic garbage without a dev-dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    const ALPHABET: &[char] = &[
        '0', '1', '9', 'a', 'f', 'g', 'A', 'F', '-', '+', ' ', '\t', '\n', '.', '\0', 'é', 'ß',
        '€', '😀', '\u{200b}', '\u{fffd}',
    ];

    fn garbage(rng: &mut Rng, len: usize) -> String {
        (0..len).map(|_| rng.pick(ALPHABET)).collect()
    }

    /// A valid header with one character replaced by a random one.
    fn mutated(rng: &mut Rng) -> String {
        let mut chars: Vec<char> = VALID.chars().collect();
        let at = rng.below(chars.len());
        chars[at] = rng.pick(ALPHABET);
        chars.into_iter().collect()
    }

    fn check_no_panic_and_round_trip(input: &str) {
        let Ok(ctx) = parse_traceparent(input) else {
            return;
        };
        let trimmed = trim_ows(input);
        assert!(ctx.is_valid());
        if trimmed.starts_with("00") {
            assert_eq!(ctx.to_string(), trimmed, "accepted {input:?}");
        } else {
            assert_eq!(ctx.to_string()[3..52], trimmed[3..52], "accepted {input:?}");
        }
    }

    #[test]
    fn garbage_never_panics_and_accepted_round_trips() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut accepted = 0;
        for i in 0..20_000 {
            let input = match i % 4 {
                0 => garbage(&mut rng, 55),
                1 => {
                    let len = rng.below(80);
                    garbage(&mut rng, len)
                }
                2 => mutated(&mut rng),
                _ => format!("{}{}", rng.pick(&["", " ", "\t"]), mutated(&mut rng)),
            };
            check_no_panic_and_round_trip(&input);
            accepted += usize::from(parse_traceparent(&input).is_ok());
            let _ = parse_tracestate([input.as_str()]);
        }
        assert!(accepted > 0, "the mutations should sometimes stay valid");
        for input in [
            "x".repeat(1 << 20),
            "é".repeat(300),
            format!("00-{}", "😀".repeat(13)),
            format!("{VALID}{}", "\u{301}"),
        ] {
            check_no_panic_and_round_trip(&input);
            let _ = parse_tracestate([input.as_str()]);
            let _ = extract(&Headers::new(&[
                ("traceparent", &input),
                ("tracestate", &input),
            ]));
        }
    }

    #[test]
    fn random_valid_headers_round_trip() {
        let mut rng = Rng(42);
        for _ in 0..2_000 {
            let trace = TraceId::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next()));
            let span = SpanId::from_u64(rng.next());
            let flags = rng.next() as u8;
            let header = format!("00-{trace}-{span}-{flags:02x}");
            let ctx = parse_traceparent(&header).unwrap();
            assert_eq!(ctx.to_string(), header);
            assert_eq!(
                (ctx.trace_id, ctx.span_id, ctx.trace_flags),
                (trace, span, flags)
            );
        }
    }

    fn sample_context() -> RemoteContext {
        RemoteContext {
            trace_id: TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            span_id: SpanId::from_u64(0x00f0_67aa_0ba9_02b7),
            trace_flags: FLAG_SAMPLED,
            tracestate: Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE".to_owned()),
        }
    }

    #[test]
    fn inject_then_extract_round_trips() {
        let ctx = sample_context();
        let mut map: HashMap<String, String> = HashMap::new();
        inject_context(&ctx, &mut map);
        assert_eq!(
            map.get(TRACEPARENT).map(String::as_str),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        assert_eq!(extract(&map), Some(ctx.clone()));

        let unsampled = RemoteContext {
            trace_flags: 0,
            tracestate: None,
            ..ctx
        };
        let mut map: HashMap<String, String> = HashMap::new();
        inject_context(&unsampled, &mut map);
        assert!(!map.contains_key(TRACESTATE));
        assert_eq!(extract(&map), Some(unsampled));
    }

    #[test]
    fn inject_skips_invalid_parts() {
        let mut map: HashMap<String, String> = HashMap::new();
        let zero = RemoteContext::new(TraceId::INVALID, SpanId::from_u64(1), 1);
        inject_context(&zero, &mut map);
        assert!(map.is_empty());

        let bad_state = RemoteContext {
            tracestate: Some("Bad Key=1\r\nx-injected: yes".to_owned()),
            ..sample_context()
        };
        inject_context(&bad_state, &mut map);
        assert!(map.contains_key(TRACEPARENT));
        assert!(!map.contains_key(TRACESTATE));

        let messy_state = RemoteContext {
            tracestate: Some(" rojo=1 ,, congo=2\t".to_owned()),
            ..sample_context()
        };
        inject_context(&messy_state, &mut map);
        assert_eq!(
            map.get(TRACESTATE).map(String::as_str),
            Some("rojo=1,congo=2")
        );
    }

    #[test]
    fn hashmap_lookup_is_case_insensitive() {
        let mut map: HashMap<String, String> = HashMap::new();
        map.insert("TRACEPARENT".into(), VALID.into());
        map.insert("TraceState".into(), "foo=1".into());
        assert_eq!(Extractor::get(&map, "traceparent"), Some(VALID));
        let ctx = extract(&map).unwrap();
        assert_eq!(ctx.tracestate.as_deref(), Some("foo=1"));

        // Two spellings of the same header are two headers: a duplicated traceparent.
        map.insert("traceparent".into(), VALID.into());
        assert_eq!(Extractor::get(&map, "traceparent"), Some(VALID));
        assert_eq!(extract(&map), None);

        // Injecting replaces every spelling with the lowercase name.
        inject_context(&sample_context(), &mut map);
        let names: Vec<&String> = map.keys().filter(|k| k.starts_with(['t', 'T'])).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(map.contains_key(TRACEPARENT) && map.contains_key(TRACESTATE));
        assert_eq!(extract(&map), Some(sample_context()));
    }

    #[cfg(feature = "http")]
    mod header_map {
        use super::*;
        use http::header::{HeaderMap, HeaderName, HeaderValue};

        fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                let name = HeaderName::from_bytes(k.as_bytes()).unwrap();
                map.append(name, HeaderValue::from_str(v).unwrap());
            }
            map
        }

        #[test]
        fn w3c_traceparent_suite_over_header_map() {
            for &(name, headers, expect) in W3C_TRACEPARENT_CASES {
                let got = extract(&header_map(headers));
                check_traceparent_case(name, headers, expect, got);
            }
        }

        #[test]
        fn w3c_tracestate_suite_over_header_map() {
            let parent = "00-12345678901234567890123456789012-1234567890123456-00";
            for (name, state, expected) in w3c_tracestate_cases() {
                let mut pairs = vec![("traceparent", parent)];
                pairs.extend(state.iter().map(|(k, v)| (*k, v.as_str())));
                let ctx = extract(&header_map(&pairs)).unwrap();
                assert_eq!(ctx.tracestate, expected, "{name}");
            }
        }

        #[test]
        fn duplicate_traceparent_and_joined_tracestate() {
            let map = header_map(&[
                ("traceparent", VALID),
                ("TraceParent", VALID),
                ("tracestate", "a=1"),
            ]);
            assert_eq!(extract(&map), None, "two traceparent headers are invalid");

            let map = header_map(&[
                ("traceparent", VALID),
                ("tracestate", "a=1,b=2"),
                ("TRACESTATE", "c=3"),
            ]);
            let ctx = extract(&map).unwrap();
            assert_eq!(ctx.tracestate.as_deref(), Some("a=1,b=2,c=3"));
        }

        #[test]
        fn non_ascii_values_are_rejected_not_skipped() {
            let opaque = HeaderValue::from_bytes(b"\xe2\x82\xac=1").unwrap();
            let mut map = header_map(&[("traceparent", VALID), ("tracestate", "a=1")]);
            map.append("tracestate", opaque.clone());
            assert_eq!(extract(&map).unwrap().tracestate, None);

            let mut map = header_map(&[("traceparent", VALID)]);
            map.append("traceparent", opaque);
            assert_eq!(extract(&map), None);
        }

        #[test]
        fn inject_into_header_map_round_trips() {
            let mut map = header_map(&[("TraceParent", VALID), ("traceparent", VALID)]);
            inject_context(&sample_context(), &mut map);
            assert_eq!(map.get_all(TRACEPARENT).iter().count(), 1);
            assert_eq!(
                map.get(TRACESTATE).unwrap(),
                "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
            );
            assert_eq!(extract(&map), Some(sample_context()));

            // Values that are not valid header values are skipped, never panicking.
            Injector::set(&mut map, "x-test", "a\nb".to_owned());
            Injector::set(&mut map, "bad name", "v".to_owned());
            assert!(map.get("x-test").is_none());
        }
    }
}
