//! Log records written inline into the ring: no allocation on the calling thread.
//!
//! A log record whose origin is static (a `tracing` callsite's metadata, or one of our
//! callsites) is encoded into a thread-local scratch [`Encoder`] (body, then its attributes
//! as `(field index, typed value)` entries: the keys are the origin's `&'static` field
//! names, found again from the index on the exporter thread), then copied into the ring as
//! one [`InlineHead`] slot followed by `head.parts` [`Part`] slots, all committed together
//! (so the exporter thread never sees a partial record). A ring slot is the size of a span
//! record: small records take one slot, a message with two short fields two or three.
//!
//! **Fallback.** A record whose encoding needs more than [`MAX_PARTS`] part slots (or more
//! than an eighth of a small ring), or one made while the scratch is in use (a `Debug` impl
//! that logs while a record is being encoded), takes the boxed path
//! ([`Record::Log`](super::record::Record::Log)): it allocates, and is otherwise the same
//! record, admitted, counted and exported like every other. Nothing is lost or truncated
//! beyond the configured value length.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use super::record::{LogRecordRaw, Record};
use crate::attributes::TRUNCATION_MARKER;
use crate::callsite::Callsite;
use crate::clock::Instant;
use crate::context::span_context::SpanContext;
use crate::data::{KeyValue, Value};
use crate::Level;

/// Payload bytes a [`Part`] slot carries.
pub(crate) const PART_BYTES: usize = 64;
/// Payload bytes carried in the head slot itself.
pub(crate) const HEAD_BYTES: usize = 8;
/// Most part slots one inline record takes (so at most
/// `HEAD_BYTES + MAX_PARTS * PART_BYTES` = 456 payload bytes inline); larger records take the
/// boxed fallback.
pub(crate) const MAX_PARTS: usize = 7;
/// Scratch capacity kept between records: a record with a huge value grows the scratch for
/// that record only.
const SCRATCH_KEEP: usize = 4096;

/// Where a record comes from, as static metadata: target, module, file, line and the names
/// of its fields.
#[derive(Clone, Copy, Debug)]
pub(crate) enum StaticOrigin {
    /// One of our callsites (the `err` record of an instrumented function): no fields.
    Callsite(&'static Callsite),
    /// A `tracing` event's callsite.
    #[cfg(feature = "tracing")]
    Tracing(&'static tracing::Metadata<'static>),
}

impl StaticOrigin {
    fn target(self) -> &'static str {
        match self {
            StaticOrigin::Callsite(c) => c.target,
            #[cfg(feature = "tracing")]
            StaticOrigin::Tracing(m) => m.target(),
        }
    }

    fn module_path(self) -> Option<&'static str> {
        match self {
            StaticOrigin::Callsite(c) => Some(c.module_path),
            #[cfg(feature = "tracing")]
            StaticOrigin::Tracing(m) => m.module_path(),
        }
    }

    fn file(self) -> Option<&'static str> {
        match self {
            StaticOrigin::Callsite(c) => Some(c.file),
            #[cfg(feature = "tracing")]
            StaticOrigin::Tracing(m) => m.file(),
        }
    }

    fn line(self) -> Option<u32> {
        match self {
            StaticOrigin::Callsite(c) => Some(c.line),
            #[cfg(feature = "tracing")]
            StaticOrigin::Tracing(m) => m.line(),
        }
    }

    /// The name of field `index` (`None` if the origin has no such field).
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn field_name(self, index: u8) -> Option<&'static str> {
        match self {
            StaticOrigin::Callsite(_) => None,
            #[cfg(feature = "tracing")]
            StaticOrigin::Tracing(m) => m.fields().iter().nth(index.into()).map(|f| f.name()),
        }
    }
}

/// The first slot of an inline log record: everything but the payload, and its first bytes.
#[derive(Debug)]
pub(crate) struct InlineHead {
    at: Instant,
    trace_hi: u64,
    trace_lo: u64,
    span_id: u64,
    origin: StaticOrigin,
    level: Level,
    flags: u8,
    /// [`Part`] slots that follow this head.
    pub(crate) parts: u8,
    body_len: u16,
    len: u16,
    bytes: [u8; HEAD_BYTES],
}

/// Payload bytes of the inline record whose head precedes it in the ring.
#[derive(Debug)]
pub(crate) struct Part([u8; PART_BYTES]);

/// A ring slot before it is written: an empty part (see `Ring::push_chunk`).
impl Default for Record {
    fn default() -> Record {
        Record::Part(Part([0; PART_BYTES]))
    }
}

/// What an inline record is, besides its payload.
#[derive(Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) at: Instant,
    pub(crate) level: Level,
    pub(crate) ctx: SpanContext,
    pub(crate) origin: StaticOrigin,
}

const TAG_I64: u8 = 0;
const TAG_F64: u8 = 1;
const TAG_BOOL: u8 = 2;
const TAG_STR: u8 = 3;

/// The thread-local scratch a record is encoded into (see the module docs). Formatting
/// writes into it directly, cut at the configured value length while it is written.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    body: Vec<u8>,
    attrs: Vec<u8>,
    count: usize,
    max: usize,
    /// The body reached the maximum (and has the marker): nothing more is added to it.
    body_cut: bool,
}

// Attributes are encoded by the `tracing` bridge only.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
impl Encoder {
    /// An empty encoder (const, for a thread-local).
    pub(crate) const fn new() -> Encoder {
        Encoder {
            body: Vec::new(),
            attrs: Vec::new(),
            count: 0,
            max: 0,
            body_cut: false,
        }
    }

    /// Starts a new record.
    pub(crate) fn begin(&mut self) {
        for buf in [&mut self.body, &mut self.attrs] {
            buf.clear();
            if buf.capacity() > SCRATCH_KEEP {
                buf.shrink_to(SCRATCH_KEEP);
            }
        }
        self.count = 0;
        self.body_cut = false;
        self.max = crate::switches::max_value_len();
    }

    /// Appends to the body, formatted (the whole body cut at the configured maximum).
    pub(crate) fn body_fmt(&mut self, args: fmt::Arguments<'_>) {
        if !self.body_cut {
            self.body_cut = !write_bounded(&mut self.body, 0, self.max, args);
        }
    }

    /// Appends `s` to the body (the whole body cut at the configured maximum).
    pub(crate) fn body_str(&mut self, s: &str) {
        if !self.body_cut {
            self.body_cut = !push_bounded(&mut self.body, 0, self.max, s);
        }
    }

    /// Room for one more attribute (at most [`MAX_SPAN_ATTRIBUTES`](super::record::MAX_SPAN_ATTRIBUTES),
    /// as the boxed path keeps; the rest is not recorded).
    fn entry(&mut self, key: u8, tag: u8) -> bool {
        if self.count >= super::record::MAX_SPAN_ATTRIBUTES {
            return false;
        }
        self.count += 1;
        self.attrs.extend_from_slice(&[key, tag]);
        true
    }

    /// Attribute `key` (a field index of the origin) = `v`.
    pub(crate) fn i64(&mut self, key: u8, v: i64) {
        if self.entry(key, TAG_I64) {
            self.attrs.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// Attribute `key` = `v`.
    pub(crate) fn f64(&mut self, key: u8, v: f64) {
        if self.entry(key, TAG_F64) {
            self.attrs.extend_from_slice(&v.to_bits().to_le_bytes());
        }
    }

    /// Attribute `key` = `v`.
    pub(crate) fn bool(&mut self, key: u8, v: bool) {
        if self.entry(key, TAG_BOOL) {
            self.attrs.push(u8::from(v));
        }
    }

    /// Attribute `key` = the formatted text (cut at the configured maximum).
    pub(crate) fn str_fmt(&mut self, key: u8, args: fmt::Arguments<'_>) {
        if !self.entry(key, TAG_STR) {
            return;
        }
        let at = self.attrs.len();
        self.attrs.extend_from_slice(&[0; 4]);
        let _ = write_bounded(&mut self.attrs, at + 4, self.max, args);
        self.end_str(at);
    }

    /// Attribute `key` = `s` (cut at the configured maximum).
    pub(crate) fn str(&mut self, key: u8, s: &str) {
        if !self.entry(key, TAG_STR) {
            return;
        }
        let at = self.attrs.len();
        self.attrs.extend_from_slice(&[0; 4]);
        let _ = push_bounded(&mut self.attrs, at + 4, self.max, s);
        self.end_str(at);
    }

    /// Writes the length of the string value whose 4-byte length prefix is at `at`.
    fn end_str(&mut self, at: usize) {
        let len = u32::try_from(self.attrs.len() - at - 4).unwrap_or(u32::MAX);
        self.attrs[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }

    fn payload_len(&self) -> usize {
        self.body.len() + self.attrs.len()
    }

    /// Part slots the encoded record needs, if it can be inline at all.
    pub(crate) fn parts(&self) -> Option<usize> {
        let len = self.payload_len();
        let parts = len.saturating_sub(HEAD_BYTES).div_ceil(PART_BYTES);
        (parts <= MAX_PARTS).then_some(parts)
    }

    /// Writes slot `i` of the record (its head, then `parts` part slots; `parts` must be
    /// what [`Encoder::parts`] returned) in place; `slot` is an empty part
    /// ([`Record::default`]).
    pub(crate) fn write_slot(&self, meta: &Meta, parts: usize, i: usize, slot: &mut Record) {
        let (body, attrs) = (&self.body[..], &self.attrs[..]);
        if i > 0 {
            if let Record::Part(Part(bytes)) = slot {
                fill(bytes, HEAD_BYTES + (i - 1) * PART_BYTES, body, attrs);
            }
            return;
        }
        let trace = meta.ctx.trace_id.to_u128();
        let mut bytes = [0; HEAD_BYTES];
        fill(&mut bytes, 0, body, attrs);
        *slot = Record::LogInline(InlineHead {
            at: meta.at,
            trace_hi: (trace >> 64) as u64,
            trace_lo: trace as u64,
            span_id: meta.ctx.span_id.to_u64(),
            origin: meta.origin,
            level: meta.level,
            flags: meta.ctx.trace_flags,
            // `parts <= MAX_PARTS`, and the lengths fit: at most HEAD_BYTES + 7 x 64 bytes.
            parts: parts as u8,
            body_len: self.body.len() as u16,
            len: self.payload_len() as u16,
            bytes,
        });
    }

    /// The boxed record of the fallback path (allocates).
    pub(crate) fn boxed(&self, meta: Meta) -> Record {
        let trace = meta.ctx.trace_id.to_u128();
        Record::Log(Box::new(raw(
            meta.origin,
            meta.at,
            meta.level,
            (trace, meta.ctx.span_id.to_u64(), meta.ctx.trace_flags),
            &self.body,
            &self.attrs,
        )))
    }
}

thread_local! {
    /// This thread's scratch encoder; in use while a record is encoded, so a record made
    /// inside a field's `Debug` impl (or an `err` record made meanwhile) takes another path.
    static SCRATCH: RefCell<Encoder> = const { RefCell::new(Encoder::new()) };
}

/// Runs `f` with this thread's scratch encoder, begun for a new record; `None` if it is in
/// use (a record made while another is encoded) or gone (thread teardown).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Encoder) -> R) -> Option<R> {
    SCRATCH
        .try_with(|cell| {
            let mut encoder = cell.try_borrow_mut().ok()?;
            encoder.begin();
            Some(f(&mut encoder))
        })
        .ok()
        .flatten()
}

/// Copies the payload (`body` then `attrs`) from `offset` on into `dst`, as much as fits
/// (the rest of `dst` is left as it is).
fn fill(dst: &mut [u8], offset: usize, body: &[u8], attrs: &[u8]) {
    let mut out = 0;
    if let Some(from_body) = body.get(offset..) {
        let n = from_body.len().min(dst.len());
        dst[..n].copy_from_slice(&from_body[..n]);
        out = n;
    }
    let from = (offset + out).saturating_sub(body.len());
    if let Some(from_attrs) = attrs.get(from..) {
        let n = from_attrs.len().min(dst.len() - out);
        dst[out..out + n].copy_from_slice(&from_attrs[..n]);
    }
}

/// Appends `s` to `buf` while `buf[start..]` stays within `max` bytes; past it, cuts `s` at a
/// char boundary and appends the truncation marker. `true` if `s` was kept whole.
fn push_bounded(buf: &mut Vec<u8>, start: usize, max: usize, s: &str) -> bool {
    let room = max.saturating_sub(buf.len() - start);
    if s.len() <= room {
        buf.extend_from_slice(s.as_bytes());
        return true;
    }
    let mut cut = room;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    buf.extend_from_slice(&s.as_bytes()[..cut]);
    buf.extend_from_slice(TRUNCATION_MARKER.as_bytes());
    false
}

/// Writes `args` into `buf` while `buf[start..]` stays within `max` bytes; past it, stops the
/// formatting (cut at a char boundary) and appends the truncation marker. `true` if nothing
/// was cut.
fn write_bounded(buf: &mut Vec<u8>, start: usize, max: usize, args: fmt::Arguments<'_>) -> bool {
    struct W<'a> {
        buf: &'a mut Vec<u8>,
        start: usize,
        max: usize,
        truncated: bool,
    }
    impl fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            if self.truncated {
                return Err(fmt::Error);
            }
            if push_bounded(self.buf, self.start, self.max, s) {
                return Ok(());
            }
            self.truncated = true;
            Err(fmt::Error)
        }
    }
    if let Some(s) = args.as_str() {
        return push_bounded(buf, start, max, s);
    }
    let mut w = W {
        buf,
        start,
        max,
        truncated: false,
    };
    // An Err is our stop at the limit (the marker is written) or a bug in a user impl; keep
    // what was written.
    let _ = fmt::write(&mut w, args);
    !w.truncated
}

/// Reads one inline record back (on the exporter thread): `parts` are the slots that
/// followed `head` in the ring; `scratch` is reused between records.
pub(crate) fn decode(
    head: InlineHead,
    parts: impl Iterator<Item = Record>,
    scratch: &mut Vec<u8>,
) -> LogRecordRaw {
    scratch.clear();
    scratch.extend_from_slice(&head.bytes);
    for record in parts {
        if let Record::Part(Part(bytes)) = record {
            scratch.extend_from_slice(&bytes);
        }
    }
    scratch.truncate(head.len.into());
    let body_len = usize::from(head.body_len).min(scratch.len());
    let trace = (u128::from(head.trace_hi) << 64) | u128::from(head.trace_lo);
    raw(
        head.origin,
        head.at,
        head.level,
        (trace, head.span_id, head.flags),
        &scratch[..body_len],
        &scratch[body_len..],
    )
}

fn raw(
    origin: StaticOrigin,
    at: Instant,
    level: Level,
    (trace_id, span_id, flags): (u128, u64, u8),
    body: &[u8],
    attrs: &[u8],
) -> LogRecordRaw {
    LogRecordRaw {
        at,
        level,
        target: Cow::Borrowed(origin.target()),
        body: String::from_utf8_lossy(body).into_owned(),
        trace_id,
        span_id,
        flags,
        module_path: origin.module_path(),
        file: origin.file(),
        line: origin.line(),
        attributes: decode_attrs(origin, attrs),
    }
}

/// The attribute entries (see [`Encoder`]); stops at the first malformed one (never the
/// case for what an encoder wrote).
fn decode_attrs(origin: StaticOrigin, mut b: &[u8]) -> Vec<KeyValue> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (b.get(..n)?, b.get(n..)?);
        *b = rest;
        Some(head)
    }
    fn array<const N: usize>(b: &mut &[u8]) -> Option<[u8; N]> {
        take(b, N)?.try_into().ok()
    }
    let mut out = Vec::new();
    while let Some([key, tag]) = array::<2>(&mut b) {
        let value = match tag {
            TAG_I64 => Value::I64(i64::from_le_bytes(array(&mut b).unwrap_or_default())),
            TAG_F64 => Value::F64(f64::from_bits(u64::from_le_bytes(
                array(&mut b).unwrap_or_default(),
            ))),
            TAG_BOOL => Value::Bool(array::<1>(&mut b).is_some_and(|[v]| v != 0)),
            TAG_STR => {
                let Some(len) = array::<4>(&mut b).map(u32::from_le_bytes) else {
                    break;
                };
                let Some(s) = take(&mut b, len as usize) else {
                    break;
                };
                Value::Str(Cow::Owned(String::from_utf8_lossy(s).into_owned()))
            }
            _ => break,
        };
        let Some(name) = origin.field_name(key) else {
            continue;
        };
        out.push(KeyValue {
            key: Cow::Borrowed(name),
            value,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::record::Record;

    #[test]
    fn slots_are_span_sized() {
        assert!(
            std::mem::size_of::<Record>() <= 72,
            "{}",
            std::mem::size_of::<Record>()
        );
    }

    #[test]
    fn values_are_cut_at_the_limit_on_a_char_boundary() {
        let mut e = Encoder::new();
        e.begin();
        e.max = 5;
        e.body_str("ééé"); // 6 bytes: cut after 2 chars
        e.body_fmt(format_args!("{}", 1)); // nothing more fits
        assert_eq!(e.body, format!("éé{TRUNCATION_MARKER}").as_bytes());
        e.begin();
        e.max = 3;
        e.body_fmt(format_args!("{}{}", "ab", "cd"));
        assert_eq!(e.body, format!("abc{TRUNCATION_MARKER}").as_bytes());
    }

    #[test]
    fn fill_copies_across_body_and_attributes() {
        let (body, attrs) = (&[1, 2, 3][..], &[4, 5, 6, 7][..]);
        for offset in 0..8 {
            let mut dst = [0; 3];
            fill(&mut dst, offset, body, attrs);
            let want: Vec<u8> = (1..=7u8).chain([0; 3]).skip(offset).take(3).collect();
            assert_eq!(dst.to_vec(), want, "offset {offset}");
        }
    }

    #[test]
    fn round_trip() {
        static CS: Callsite = Callsite::new("f", "t", "m", "file.rs", 7, Level::Info, &[]);
        let mut e = Encoder::new();
        e.begin();
        e.body_fmt(format_args!("hello {}", 42));
        let meta = Meta {
            at: Instant::ZERO,
            level: Level::Warn,
            ctx: SpanContext::NONE,
            origin: StaticOrigin::Callsite(&CS),
        };
        for body in ["", "x", &"y".repeat(300)] {
            e.begin();
            e.body_str(body);
            let parts = e.parts().unwrap();
            let mut slots: Vec<Record> = (0..=parts)
                .map(|i| {
                    let mut slot = Record::default();
                    e.write_slot(&meta, parts, i, &mut slot);
                    slot
                })
                .collect();
            let rest = slots.split_off(1);
            let Some(Record::LogInline(head)) = slots.pop() else {
                panic!("head first")
            };
            assert!(rest.iter().all(Record::is_part));
            let raw = decode(head, rest.into_iter(), &mut Vec::new());
            assert_eq!(raw.body, body);
            assert_eq!(raw.level, Level::Warn);
            assert_eq!(raw.line, Some(7));
            assert_eq!(raw.target, "t");
        }
        e.begin();
        e.body_str(&"z".repeat(1000));
        assert_eq!(e.parts(), None, "too large: the boxed fallback");
        let Record::Log(raw) = e.boxed(meta) else {
            panic!("boxed")
        };
        assert_eq!(raw.body.len(), 1000);
    }
}
