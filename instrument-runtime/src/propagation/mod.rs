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

use std::fmt;

use crate::{SpanId, TraceId};

mod carriers;
mod traceparent;
mod tracestate;

pub use carriers::{Extractor, Injector};
pub use traceparent::{parse_traceparent, TraceparentError};
pub use tracestate::{parse_tracestate, MAX_REMEMBERED_TRACESTATES};

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
/// so the callee continues this trace, and the `tracestate` this trace arrived with (if it
/// was continued from a [`RemoteContext`] that carried one), so vendors' state survives the
/// hop. The last [`MAX_REMEMBERED_TRACESTATES`] traces' states are kept.
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
///
/// // A trace continued from a caller forwards the caller's `tracestate`, from any span of it.
/// #[instrument(parent = remote)]
/// fn handle(remote: propagation::RemoteContext) -> HashMap<String, String> {
///     call_downstream()
/// }
/// let mut incoming = HashMap::new();
/// incoming.insert(
///     "traceparent".to_string(),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
/// );
/// incoming.insert("tracestate".to_string(), "rojo=00f067aa0ba902b7".to_string());
/// let outgoing = handle(propagation::extract(&incoming).unwrap());
/// assert_eq!(outgoing["tracestate"], "rojo=00f067aa0ba902b7");
/// assert!(outgoing["traceparent"].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
/// ```
pub fn inject(carrier: &mut impl Injector) {
    if let Some(ctx) = crate::current_span_context() {
        let mut remote = RemoteContext::from(ctx);
        remote.tracestate = tracestate::recall(ctx.trace_id);
        inject_context(&remote, carrier);
    }
}

impl From<crate::SpanContext> for RemoteContext {
    fn from(c: crate::SpanContext) -> Self {
        RemoteContext::new(c.trace_id, c.span_id, c.trace_flags)
    }
}

/// Continuing a remote trace: the context's `tracestate` (if any) is remembered for its trace,
/// so [`inject`] forwards it from every span of the trace.
impl From<&RemoteContext> for crate::SpanContext {
    fn from(r: &RemoteContext) -> Self {
        if let Some(state) = &r.tracestate {
            if r.is_valid() {
                tracestate::remember(r.trace_id, state);
            }
        }
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
    use std::collections::HashMap;

    use super::traceparent::trim_ows;
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

    #[test]
    fn tracestate_survives_the_next_hop_from_any_span_of_the_trace() {
        use crate::context::span::Span;
        use crate::{Callsite, Level, SpanContext};
        static CS: Callsite = Callsite::new("hop", "t", "m", "f.rs", 1, Level::Info, &[]);

        let remote = RemoteContext {
            tracestate: Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE".to_owned()),
            ..parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap()
        };
        let outgoing = |span: &Span| {
            let mut headers = HashMap::new();
            inject(&mut headers);
            assert_eq!(
                headers.get(TRACEPARENT).map(|t| t[3..35].to_owned()),
                Some(remote.trace_id.to_string()),
                "{span:?} continues the remote trace"
            );
            headers.get(TRACESTATE).cloned()
        };
        let server = Span::enter_with_parent(&CS, Some(SpanContext::from(&remote)));
        let expected = remote.tracestate.clone();
        assert_eq!(outgoing(&server), expected, "the remote parent's child");
        let child = Span::enter(&CS);
        assert_eq!(outgoing(&child), expected, "a grandchild");
        let grandchild_ctx = crate::current_span_context();
        let other_thread = std::thread::spawn(move || {
            let span = Span::enter_with_parent(&CS, grandchild_ctx);
            outgoing_on_this_thread().map(|state| (state, span.context().trace_id))
        })
        .join()
        .unwrap();
        assert_eq!(
            other_thread,
            expected.clone().map(|s| (s, remote.trace_id)),
            "another thread"
        );
        drop(child);
        drop(server);

        // A trace that arrived without `tracestate` sends none.
        let plain =
            parse_traceparent("00-11111111111111111111111111111111-b7ad6b7169203331-01").unwrap();
        let span = Span::enter_with_parent(&CS, Some(SpanContext::from(&plain)));
        assert_eq!(outgoing_on_this_thread(), None, "{span:?}");
    }

    fn outgoing_on_this_thread() -> Option<String> {
        let mut headers = HashMap::new();
        inject(&mut headers);
        headers.get(TRACESTATE).cloned()
    }
}
