//! Our spans and log records encoded straight into OTLP protobuf bytes, as [`OtlpExporter`]
//! sends them: no intermediate message tree (the generated `opentelemetry-proto` types cost
//! about ten allocations per span: Strings, Vecs of `KeyValue`, `AnyValue`s), strings and
//! attribute keys written straight from `&str`, one reusable buffer per exporter, the
//! resource encoded once per resource change and copied into each request.
//!
//! The mapping is the one the generated types had (tests below decode our bytes with them
//! and compare every field): spans carry `code.file.path` and `code.line.number` unless
//! turned off, their flags say the parent is local (bit 8 set); log records carry both
//! timestamps, severity, trace context and their `log` target as the scope name, one scope
//! per target in order of first appearance. Fields at their proto3 default are left out, as
//! prost does; a oneof value (`AnyValue`) is always written, even an empty string.
//!
//! Lengths are computed before the bytes are written (protobuf's length prefixes are
//! varints), record by record, so a batch is cut into requests under the byte limit before
//! anything is encoded: a request never exceeds the limit (its enclosing length prefixes are
//! counted at their 5-byte maximum), and a record that alone exceeds it is left out and
//! counted.
//!
//! [`OtlpExporter`]: super::OtlpExporter

use prost::bytes::{Bytes, BytesMut};

use crate::export::{LogData, SpanData, SpanStatus, Value};
use crate::Level;

/// One request body and the records (spans or log records) it holds.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) body: Bytes,
    pub(crate) records: u64,
}

/// A batch of one signal as requests under the byte limit.
#[derive(Debug, Default)]
pub(crate) struct Encoded {
    pub(crate) parts: Vec<Part>,
    /// Records left out because each alone exceeds the limit.
    pub(crate) oversized: u64,
}

/// Where a request is written: a slice of exactly its computed length. Writes past the end
/// are not made (and the request is then dropped, see [`OtlpEncoder`]): a length computed
/// wrong can never panic the exporter thread or corrupt another request.
struct Out<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Out<'_> {
    #[inline]
    fn put_u8(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.at) {
            *slot = b;
        }
        self.at += 1;
    }

    #[inline]
    fn put_slice(&mut self, s: &[u8]) {
        let end = self.at.saturating_add(s.len());
        if let Some(dst) = self.buf.get_mut(self.at..end) {
            dst.copy_from_slice(s);
        }
        self.at = end;
    }

    #[inline]
    fn put_u32_le(&mut self, v: u32) {
        self.put_slice(&v.to_le_bytes());
    }

    #[inline]
    fn put_u64_le(&mut self, v: u64) {
        self.put_slice(&v.to_le_bytes());
    }

    #[inline]
    fn put_f64_le(&mut self, v: f64) {
        self.put_slice(&v.to_le_bytes());
    }
}

// Wire types.
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// The key of field `tag` (below 16: one byte).
const fn key(tag: u32, wire: u32) -> u8 {
    assert!(tag < 16);
    ((tag << 3) | wire) as u8
}

/// An attribute value as the encoder reads it (borrowed: strings are written from `&str`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(&'a str),
}

impl<'a> From<&'a Value> for Val<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Bool(b) => Val::Bool(*b),
            Value::I64(i) => Val::I64(*i),
            Value::F64(f) => Val::F64(*f),
            Value::Str(s) => Val::Str(s),
        }
    }
}

/// An attribute: key and value.
pub(crate) type Attr<'a> = (&'a str, Val<'a>);

#[inline]
fn varint_len(v: u64) -> usize {
    prost::encoding::encoded_len_varint(v)
}

#[inline]
fn put_varint(buf: &mut Out<'_>, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Key, length prefix and `n` bytes of a length-delimited field.
#[inline]
fn framed(n: usize) -> usize {
    1 + varint_len(n as u64) + n
}

#[inline]
fn put_len(buf: &mut Out<'_>, tag: u32, n: usize) {
    buf.put_u8(key(tag, LEN));
    put_varint(buf, n as u64);
}

/// A string or bytes field, left out when empty (proto3).
#[inline]
fn str_len(s: &[u8]) -> usize {
    if s.is_empty() {
        0
    } else {
        framed(s.len())
    }
}

#[inline]
fn put_str(buf: &mut Out<'_>, tag: u32, s: &[u8]) {
    if !s.is_empty() {
        put_len(buf, tag, s.len());
        buf.put_slice(s);
    }
}

#[inline]
fn fixed64_len(v: u64) -> usize {
    if v == 0 {
        0
    } else {
        9
    }
}

#[inline]
fn put_fixed64(buf: &mut Out<'_>, tag: u32, v: u64) {
    if v != 0 {
        buf.put_u8(key(tag, FIXED64));
        buf.put_u64_le(v);
    }
}

#[inline]
fn uint_len(v: u64) -> usize {
    if v == 0 {
        0
    } else {
        1 + varint_len(v)
    }
}

#[inline]
fn put_uint(buf: &mut Out<'_>, tag: u32, v: u64) {
    if v != 0 {
        buf.put_u8(key(tag, VARINT));
        put_varint(buf, v);
    }
}

/// `AnyValue`'s body: its oneof is always written.
#[inline]
fn any_len(v: Val<'_>) -> usize {
    match v {
        Val::Str(s) => framed(s.len()),
        Val::Bool(_) => 2,
        Val::I64(i) => 1 + varint_len(i as u64),
        Val::F64(_) => 9,
    }
}

#[inline]
fn put_any(buf: &mut Out<'_>, v: Val<'_>) {
    match v {
        Val::Str(s) => {
            put_len(buf, 1, s.len());
            buf.put_slice(s.as_bytes());
        }
        Val::Bool(b) => {
            buf.put_u8(key(2, VARINT));
            buf.put_u8(u8::from(b));
        }
        Val::I64(i) => {
            buf.put_u8(key(3, VARINT));
            put_varint(buf, i as u64);
        }
        Val::F64(f) => {
            buf.put_u8(key(4, FIXED64));
            buf.put_f64_le(f);
        }
    }
}

/// `KeyValue`'s body: the key (left out when empty) and the value (always present).
#[inline]
fn kv_len((k, v): Attr<'_>) -> usize {
    str_len(k.as_bytes()) + framed(any_len(v))
}

#[inline]
fn put_kv(buf: &mut Out<'_>, (k, v): Attr<'_>) {
    put_str(buf, 1, k.as_bytes());
    put_len(buf, 2, any_len(v));
    put_any(buf, v);
}

/// Repeated `KeyValue` fields.
#[inline]
fn attrs_len<'a>(attrs: impl Iterator<Item = Attr<'a>>) -> usize {
    attrs.map(|a| framed(kv_len(a))).sum()
}

#[inline]
fn put_attrs<'a>(buf: &mut Out<'_>, tag: u32, attrs: impl Iterator<Item = Attr<'a>>) {
    for a in attrs {
        put_len(buf, tag, kv_len(a));
        put_kv(buf, a);
    }
}

/// A span's attributes as the encoder reads them: its own, then the call's metric labels
/// (static strings, see [`SpanData::all_attributes`]), then the code location if asked.
/// (The one place that knows how `SpanData` holds attributes.)
#[inline]
fn span_attrs<'a>(s: &'a SpanData, code: &'a [Attr<'a>]) -> impl Iterator<Item = Attr<'a>> {
    s.attributes
        .iter()
        .map(|kv| (&*kv.key, Val::from(&kv.value)))
        .chain(s.labels.iter().map(|(k, v)| (k, Val::Str(v))))
        .chain(code.iter().copied())
}

fn code_attrs(file: &str, line: u32) -> [Attr<'_>; 2] {
    [
        ("code.file.path", Val::Str(file)),
        ("code.line.number", Val::I64(i64::from(line))),
    ]
}

/// `flags` (field 16, fixed32): a two-byte key.
const FLAGS_KEY: [u8; 2] = [(16 << 3 | FIXED32) as u8 | 0x80, 0x01];

fn span_kind(kind: crate::SpanKind) -> u64 {
    // opentelemetry.proto.trace.v1.Span.SpanKind
    match kind {
        crate::SpanKind::Internal => 1,
        crate::SpanKind::Server => 2,
        crate::SpanKind::Client => 3,
        crate::SpanKind::Producer => 4,
        crate::SpanKind::Consumer => 5,
    }
}

/// `Status`' body: (code, message); `None` for unset (no status field).
fn status(s: &SpanStatus) -> Option<(u64, &str)> {
    match s {
        SpanStatus::Unset => None,
        SpanStatus::Ok => Some((1, "")),
        SpanStatus::Error { message } => Some((2, message)),
    }
}

fn status_len((code, message): (u64, &str)) -> usize {
    str_len(message.as_bytes()) + uint_len(code)
}

fn event_len(e: &crate::export::SpanEvent) -> usize {
    fixed64_len(e.timestamp_unix_nanos)
        + str_len(e.name.as_bytes())
        + attrs_len(
            e.attributes
                .iter()
                .map(|kv| (&*kv.key, Val::from(&kv.value))),
        )
        + uint_len(u64::from(e.dropped_attributes_count))
}

fn put_event(buf: &mut Out<'_>, e: &crate::export::SpanEvent) {
    put_fixed64(buf, 1, e.timestamp_unix_nanos);
    put_str(buf, 2, e.name.as_bytes());
    put_attrs(
        buf,
        3,
        e.attributes
            .iter()
            .map(|kv| (&*kv.key, Val::from(&kv.value))),
    );
    put_uint(buf, 4, u64::from(e.dropped_attributes_count));
}

fn link_len(l: &crate::export::SpanLink) -> usize {
    framed(16) + framed(8) + if l.trace_flags == 0 { 0 } else { 5 }
}

fn put_link(buf: &mut Out<'_>, l: &crate::export::SpanLink) {
    put_str(buf, 1, &l.trace_id.to_bytes());
    put_str(buf, 2, &l.span_id.to_bytes());
    // W3C flags in the low byte; bit 8 ("has_is_remote") unset: unknown for a link.
    if l.trace_flags != 0 {
        buf.put_u8(key(6, FIXED32));
        buf.put_u32_le(u32::from(l.trace_flags));
    }
}

/// A span's body length (`code`: the code-location attributes, or none).
fn span_len(s: &SpanData, code: &[Attr<'_>]) -> usize {
    let parent = if s.parent_span_id.is_some() {
        framed(8)
    } else {
        0
    };
    framed(16)
        + framed(8)
        + parent
        + FLAGS_KEY.len()
        + 4
        + str_len(s.name.as_bytes())
        + uint_len(span_kind(s.kind))
        + fixed64_len(s.start_unix_nanos)
        + fixed64_len(s.end_unix_nanos)
        + attrs_len(span_attrs(s, code))
        + uint_len(u64::from(s.dropped.attributes))
        + s.events.iter().map(|e| framed(event_len(e))).sum::<usize>()
        + uint_len(u64::from(s.dropped.events))
        + s.links.iter().map(|l| framed(link_len(l))).sum::<usize>()
        + uint_len(u64::from(s.dropped.links))
        + status(&s.status).map_or(0, |st| framed(status_len(st)))
}

fn put_span(buf: &mut Out<'_>, s: &SpanData, code: &[Attr<'_>]) {
    put_str(buf, 1, &s.trace_id.to_bytes());
    put_str(buf, 2, &s.span_id.to_bytes());
    if let Some(parent) = s.parent_span_id {
        put_len(buf, 4, 8);
        buf.put_slice(&parent.to_bytes());
    }
    put_str(buf, 5, s.name.as_bytes());
    put_uint(buf, 6, span_kind(s.kind));
    put_fixed64(buf, 7, s.start_unix_nanos);
    put_fixed64(buf, 8, s.end_unix_nanos);
    put_attrs(buf, 9, span_attrs(s, code));
    put_uint(buf, 10, u64::from(s.dropped.attributes));
    for e in &s.events {
        put_len(buf, 11, event_len(e));
        put_event(buf, e);
    }
    put_uint(buf, 12, u64::from(s.dropped.events));
    for l in &s.links {
        put_len(buf, 13, link_len(l));
        put_link(buf, l);
    }
    put_uint(buf, 14, u64::from(s.dropped.links));
    if let Some(st) = status(&s.status) {
        put_len(buf, 15, status_len(st));
        put_str(buf, 2, st.1.as_bytes());
        put_uint(buf, 3, st.0);
    }
    // W3C flags in the low byte; bit 8 says "has_is_remote" (the parent is local).
    buf.put_slice(&FLAGS_KEY);
    buf.put_u32_le(u32::from(s.trace_flags) | 0x100);
}

fn severity(level: Level) -> u64 {
    // opentelemetry.proto.logs.v1.SeverityNumber
    match level {
        Level::Trace => 1,
        Level::Debug => 5,
        Level::Info => 9,
        Level::Warn => 13,
        Level::Error => 17,
    }
}

/// A log record's attributes: its own, then the code location when known.
#[inline]
fn log_attrs<'a>(l: &'a LogData, code: &'a [Attr<'a>]) -> impl Iterator<Item = Attr<'a>> {
    l.attributes
        .iter()
        .map(|kv| (&*kv.key, Val::from(&kv.value)))
        .chain(code.iter().copied())
}

fn log_code(l: &LogData) -> Option<[Attr<'_>; 2]> {
    match (&l.file, l.line) {
        (Some(file), Some(line)) => Some(code_attrs(file, line)),
        _ => None,
    }
}

/// Trace context of a log record: both ids, or none.
fn log_context(l: &LogData) -> Option<([u8; 16], [u8; 8])> {
    Some((l.trace_id?.to_bytes(), l.span_id?.to_bytes()))
}

fn log_len(l: &LogData) -> usize {
    let code = log_code(l);
    let code = code.as_ref().map_or(&[][..], |c| &c[..]);
    let context = match log_context(l) {
        Some(_) => framed(16) + framed(8) + if l.trace_flags == 0 { 0 } else { 5 },
        None => 0,
    };
    2 * fixed64_len(l.timestamp_unix_nanos)
        + uint_len(severity(l.level))
        + str_len(l.level.as_upper_str().as_bytes())
        + framed(any_len(Val::Str(&l.body)))
        + attrs_len(log_attrs(l, code))
        + context
}

fn put_log(buf: &mut Out<'_>, l: &LogData) {
    let code = log_code(l);
    let code = code.as_ref().map_or(&[][..], |c| &c[..]);
    put_fixed64(buf, 1, l.timestamp_unix_nanos);
    put_uint(buf, 2, severity(l.level));
    put_str(buf, 3, l.level.as_upper_str().as_bytes());
    let body = Val::Str(&l.body);
    put_len(buf, 5, any_len(body));
    put_any(buf, body);
    put_attrs(buf, 6, log_attrs(l, code));
    if let Some((trace, span)) = log_context(l) {
        if l.trace_flags != 0 {
            buf.put_u8(key(8, FIXED32));
            buf.put_u32_le(u32::from(l.trace_flags));
        }
        put_str(buf, 9, &trace);
        put_str(buf, 10, &span);
    }
    put_fixed64(buf, 11, l.timestamp_unix_nanos);
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `InstrumentationScope`'s body: name and this crate's version.
fn scope_len(name: &str) -> usize {
    str_len(name.as_bytes()) + str_len(VERSION.as_bytes())
}

fn put_scope(buf: &mut Out<'_>, name: &str) {
    put_str(buf, 1, name.as_bytes());
    put_str(buf, 2, VERSION.as_bytes());
}

/// Records of one signal, in the order they are encoded, each under a scope (`group`).
trait Source {
    fn count(&self) -> usize;
    /// The scope of the record at `pos`; records of one scope are consecutive.
    fn group(&self, pos: usize) -> usize;
    fn scope_name(&self, group: usize) -> &str;
    fn body_len(&self, pos: usize) -> usize;
    fn put(&self, pos: usize, buf: &mut Out<'_>);
}

struct Spans<'a> {
    spans: &'a [SpanData],
    code: bool,
}

impl Spans<'_> {
    #[inline]
    fn with<R>(&self, pos: usize, f: impl FnOnce(&SpanData, &[Attr<'_>]) -> R) -> R {
        let s = &self.spans[pos];
        if self.code {
            f(s, &code_attrs(s.file, s.line))
        } else {
            f(s, &[])
        }
    }
}

impl Source for Spans<'_> {
    fn count(&self) -> usize {
        self.spans.len()
    }
    fn group(&self, _: usize) -> usize {
        0
    }
    fn scope_name(&self, _: usize) -> &str {
        env!("CARGO_PKG_NAME")
    }
    fn body_len(&self, pos: usize) -> usize {
        self.with(pos, span_len)
    }
    fn put(&self, pos: usize, buf: &mut Out<'_>) {
        self.with(pos, |s, code| put_span(buf, s, code));
    }
}

struct Logs<'a> {
    logs: &'a [LogData],
    /// Log index at each position (grouped by target, in order of first appearance).
    order: &'a [u32],
    /// Group of each log (by log index).
    groups: &'a [u32],
    /// The first log of each group (its target names the scope).
    firsts: &'a [u32],
}

impl Source for Logs<'_> {
    fn count(&self) -> usize {
        self.order.len()
    }
    fn group(&self, pos: usize) -> usize {
        self.groups[self.order[pos] as usize] as usize
    }
    fn scope_name(&self, group: usize) -> &str {
        &self.logs[self.firsts[group] as usize].target
    }
    fn body_len(&self, pos: usize) -> usize {
        log_len(&self.logs[self.order[pos] as usize])
    }
    fn put(&self, pos: usize, buf: &mut Out<'_>) {
        put_log(buf, &self.logs[self.order[pos] as usize]);
    }
}

/// The largest length prefix counted for an enclosing message (lengths under 4 GiB).
const MAX_PREFIX: usize = 5;

/// Encodes batches into OTLP request bodies; one per exporter, its buffers reused (the
/// request bytes are handed out as [`Bytes`] that share the buffer, which is reclaimed once
/// they are dropped). Each request is written into a slice of its computed length; one that
/// comes out another length (a bug the tests look for) is not sent, its records counted with
/// the oversized ones and reported once through `diag::warn`.
#[derive(Debug, Default)]
pub(crate) struct OtlpEncoder {
    buf: BytesMut,
    /// Body length of the record at each position.
    lens: Vec<usize>,
    /// Positions sent (oversized records left out); each part a range of it.
    picked: Vec<u32>,
    cuts: Vec<(usize, usize)>,
    /// Per scope run of the part being written: (end in `picked`, `ScopeSpans`/`ScopeLogs`
    /// body length).
    runs: Vec<(usize, usize)>,
    // Log grouping.
    order: Vec<u32>,
    groups: Vec<u32>,
    firsts: Vec<u32>,
    counts: Vec<u32>,
}

impl OtlpEncoder {
    /// The spans as `ExportTraceServiceRequest` bodies of at most `limit` bytes each, under
    /// `resource` (an encoded `Resource` message) and our scope; `code` adds
    /// `code.file.path` and `code.line.number` to every span.
    pub(crate) fn traces(
        &mut self,
        spans: &[SpanData],
        resource: &[u8],
        code: bool,
        limit: usize,
    ) -> Encoded {
        self.encode(&Spans { spans, code }, resource, limit)
    }

    /// The log records as `ExportLogsServiceRequest` bodies of at most `limit` bytes each,
    /// one scope per `log` target (in order of first appearance).
    pub(crate) fn logs(&mut self, logs: &[LogData], resource: &[u8], limit: usize) -> Encoded {
        self.group_logs(logs);
        let order = std::mem::take(&mut self.order);
        let groups = std::mem::take(&mut self.groups);
        let firsts = std::mem::take(&mut self.firsts);
        let source = Logs {
            logs,
            order: &order,
            groups: &groups,
            firsts: &firsts,
        };
        let encoded = self.encode(&source, resource, limit);
        (self.order, self.groups, self.firsts) = (order, groups, firsts);
        encoded
    }

    /// Groups the logs by target: `groups[i]` is log i's group, `firsts[g]` the first log of
    /// group g, `order` the log indices grouped (stable within a group).
    fn group_logs(&mut self, logs: &[LogData]) {
        self.groups.clear();
        self.firsts.clear();
        let mut last: Option<(&str, u32)> = None;
        for (i, log) in logs.iter().enumerate() {
            let target: &str = &log.target;
            let group = match last {
                Some((t, g)) if t == target => g,
                _ => {
                    let found = self
                        .firsts
                        .iter()
                        .position(|&f| logs[f as usize].target == target);
                    let g = found.unwrap_or_else(|| {
                        self.firsts.push(i as u32);
                        self.firsts.len() - 1
                    }) as u32;
                    last = Some((target, g));
                    g
                }
            };
            self.groups.push(group);
        }
        // Counting sort by group.
        self.counts.clear();
        self.counts.resize(self.firsts.len() + 1, 0);
        for &g in &self.groups {
            self.counts[g as usize + 1] += 1;
        }
        for g in 1..self.counts.len() {
            self.counts[g] += self.counts[g - 1];
        }
        self.order.clear();
        self.order.resize(logs.len(), 0);
        for (i, &g) in self.groups.iter().enumerate() {
            let at = &mut self.counts[g as usize];
            self.order[*at as usize] = i as u32;
            *at += 1;
        }
    }

    fn encode<S: Source>(&mut self, src: &S, resource: &[u8], limit: usize) -> Encoded {
        let n = src.count();
        self.lens.clear();
        self.picked.clear();
        self.cuts.clear();
        // The `ResourceSpans`/`ResourceLogs` key and prefix, and its resource field.
        let base = 1 + MAX_PREFIX + framed(resource.len());
        let scope_overhead = |g: usize| 1 + MAX_PREFIX + framed(scope_len(src.scope_name(g)));
        let mut oversized = 0u64;
        let mut size = base;
        let mut group = usize::MAX;
        let mut start = 0;
        // Bytes of the parts cut so far (each part's `size` bounds its bytes).
        let mut total = 0;
        for pos in 0..n {
            let len = src.body_len(pos);
            self.lens.push(len);
            let record = framed(len);
            let g = src.group(pos);
            let scope = scope_overhead(g);
            if base + scope + record > limit {
                oversized += 1;
                continue;
            }
            let mut add = record + if g == group { 0 } else { scope };
            if size + add > limit && self.picked.len() > start {
                self.cuts.push((start, self.picked.len()));
                start = self.picked.len();
                total += size;
                size = base;
                add = record + scope;
            }
            size += add;
            group = g;
            self.picked.push(pos as u32);
        }
        if self.picked.len() > start {
            self.cuts.push((start, self.picked.len()));
            total += size;
        }
        // One reservation: reclaims the buffer of earlier batches once their bodies are
        // dropped, else allocates anew (a body still in flight is never overwritten).
        self.buf.clear();
        self.buf.reserve(total);

        let mut offsets = Vec::with_capacity(self.cuts.len());
        let mut failed = 0;
        for &(a, b) in &self.cuts {
            // Scope runs and their lengths.
            self.runs.clear();
            let mut i = a;
            while i < b {
                let g = src.group(self.picked[i] as usize);
                let mut body = framed(scope_len(src.scope_name(g)));
                let mut j = i;
                while j < b && src.group(self.picked[j] as usize) == g {
                    body += framed(self.lens[self.picked[j] as usize]);
                    j += 1;
                }
                self.runs.push((j, body));
                i = j;
            }
            let rs = framed(resource.len()) + self.runs.iter().map(|r| framed(r.1)).sum::<usize>();
            let begin = self.buf.len();
            let size = framed(rs);
            self.buf.resize(begin + size, 0);
            let out = &mut Out {
                buf: &mut self.buf[begin..],
                at: 0,
            };
            put_len(out, 1, rs);
            put_len(out, 1, resource.len());
            out.put_slice(resource);
            let mut i = a;
            for &(end, body) in &self.runs {
                put_len(out, 2, body);
                let name = src.scope_name(src.group(self.picked[i] as usize));
                put_len(out, 1, scope_len(name));
                put_scope(out, name);
                for &pos in &self.picked[i..end] {
                    let pos = pos as usize;
                    put_len(out, 2, self.lens[pos]);
                    let at = out.at;
                    src.put(pos, out);
                    debug_assert_eq!(out.at - at, self.lens[pos], "record length");
                }
                i = end;
            }
            if out.at != size {
                // A length computed wrong (a bug): the request is not sent, its records are
                // counted with those over the limit rather than sent malformed.
                debug_assert_eq!(out.at, size, "request length");
                crate::diag::warn(format!(
                    "OTLP encoder: a request of {} records came out {} bytes instead of {size} \
                     and was not sent (a bug, please report it)",
                    b - a,
                    out.at
                ));
                self.buf.truncate(begin);
                failed += (b - a) as u64;
                continue;
            }
            debug_assert!(size <= limit, "request over the limit");
            offsets.push((begin, self.buf.len(), (b - a) as u64));
        }
        let all = self.buf.split().freeze();
        Encoded {
            parts: offsets
                .into_iter()
                .map(|(begin, end, records)| Part {
                    body: all.slice(begin..end),
                    records,
                })
                .collect(),
            oversized: oversized + failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as ProtoKv};
    use opentelemetry_proto::tonic::logs::v1::ScopeLogs;
    use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
    use opentelemetry_proto::tonic::trace::v1::Span;
    use prost::Message;

    use super::super::proto;
    use super::*;
    use crate::buffer::record::{MAX_EVENT_ATTRIBUTES, MAX_SPAN_ATTRIBUTES};
    use crate::export::{DroppedCounts, KeyValue, SpanEvent, SpanLink};
    use crate::{SpanId, SpanKind, TraceId};

    const NO_LIMIT: usize = usize::MAX / 2;

    fn resource() -> ProtoResource {
        ProtoResource {
            attributes: vec![ProtoKv {
                key: "service.name".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue("shop".into())),
                }),
                ..ProtoKv::default()
            }],
            dropped_attributes_count: 2,
            ..ProtoResource::default()
        }
    }

    /// Every part decoded; each holds one resource (ours) and one scope (ours); their spans
    /// in order.
    fn decoded_spans(encoded: &Encoded, resource: &ProtoResource) -> Vec<Span> {
        let reference = proto::traces(&[], resource, true);
        let scope = reference.resource_spans[0].scope_spans[0].scope.clone();
        let mut spans = Vec::new();
        for part in &encoded.parts {
            let request = ExportTraceServiceRequest::decode(part.body.clone()).expect("decodes");
            assert_eq!(request.resource_spans.len(), 1);
            let rs = &request.resource_spans[0];
            assert_eq!(rs.resource.as_ref(), Some(resource));
            assert_eq!(rs.scope_spans.len(), 1);
            assert_eq!(rs.scope_spans[0].scope, scope);
            assert_eq!(rs.scope_spans[0].spans.len() as u64, part.records);
            spans.extend(rs.scope_spans[0].spans.iter().cloned());
        }
        spans
    }

    /// Encodes `spans` whole and checks the bytes decode to what the reference converter
    /// builds, field for field, with and without the code attributes.
    fn check_spans(spans: &[SpanData]) {
        let resource = resource();
        let resource_bytes = resource.encode_to_vec();
        let mut encoder = OtlpEncoder::default();
        for code in [true, false] {
            let encoded = encoder.traces(spans, &resource_bytes, code, NO_LIMIT);
            if spans.is_empty() {
                // Nothing to send: no request (the exporter sends none either).
                assert_eq!((encoded.parts.len(), encoded.oversized), (0, 0));
                continue;
            }
            assert_eq!(encoded.parts.len(), 1);
            assert_eq!(encoded.oversized, 0);
            let reference = proto::traces(spans, &resource, code);
            let body = &encoded.parts[0].body;
            assert_eq!(
                ExportTraceServiceRequest::decode(body.clone()).expect("decodes"),
                reference
            );
            // The same size as prost's encoding: no field written that prost leaves out.
            assert_eq!(body.len(), reference.encoded_len());
        }
    }

    fn check_logs(logs: &[LogData]) {
        let resource = resource();
        let mut encoder = OtlpEncoder::default();
        let encoded = encoder.logs(logs, &resource.encode_to_vec(), NO_LIMIT);
        if logs.is_empty() {
            assert_eq!((encoded.parts.len(), encoded.oversized), (0, 0));
            return;
        }
        assert_eq!(encoded.parts.len(), 1);
        let reference = proto::logs(logs, &resource);
        let body = &encoded.parts[0].body;
        assert_eq!(
            ExportLogsServiceRequest::decode(body.clone()).expect("decodes"),
            reference
        );
        assert_eq!(body.len(), reference.encoded_len());
        assert_eq!(encoded.parts[0].records, logs.len() as u64);
    }

    fn full_span() -> SpanData {
        SpanData {
            trace_id: TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            span_id: SpanId::from_u64(0x00f0_67aa_0ba9_02b7),
            parent_span_id: Some(SpanId::from_u64(0xa)),
            trace_flags: 1,
            name: "load_cart",
            target: "shop::cart",
            module_path: "shop::cart",
            file: "src/cart.rs",
            line: 42,
            level: Level::Info,
            start_unix_nanos: 1_700_000_000_000_000_000,
            end_unix_nanos: 1_700_000_000_000_003_500,
            status: SpanStatus::Error {
                message: "card declined".into(),
            },
            attributes: vec![
                KeyValue::new("s", "text"),
                KeyValue::new("b", true),
                KeyValue::new("f", false),
                KeyValue::new("i", -7i64),
                KeyValue::new("big", i64::MAX),
                KeyValue::new("min", i64::MIN),
                KeyValue::new("zero", 0i64),
                KeyValue::new("d", 1.5f64),
                KeyValue::new("inf", f64::INFINITY),
                KeyValue::new("nzero", -0.0f64),
                KeyValue::new("empty", ""),
                KeyValue::new("", "empty key"),
                KeyValue::new("ünï", "código ✓ 🚀".to_owned()),
            ],
            kind: SpanKind::Client,
            events: vec![
                SpanEvent {
                    name: "retry".into(),
                    timestamp_unix_nanos: 1_700_000_000_000_001_000,
                    attributes: vec![KeyValue::new("attempt", 2i64), KeyValue::new("ok", false)],
                    dropped_attributes_count: 3,
                },
                SpanEvent {
                    name: "".into(),
                    timestamp_unix_nanos: 0,
                    attributes: vec![],
                    dropped_attributes_count: 0,
                },
            ],
            links: vec![
                SpanLink {
                    trace_id: TraceId::from_u128(5),
                    span_id: SpanId::from_u64(6),
                    trace_flags: 1,
                },
                SpanLink {
                    trace_id: TraceId::from_u128(7),
                    span_id: SpanId::from_u64(8),
                    trace_flags: 0,
                },
            ],
            dropped: DroppedCounts {
                attributes: 4,
                events: 5,
                links: 300,
            },
            labels: crate::data::SpanLabels::NONE,
        }
    }

    #[test]
    fn a_span_with_every_field_decodes_to_the_reference_message() {
        check_spans(&[full_span()]);
    }

    #[test]
    fn kinds_statuses_roots_and_defaults_match_the_reference() {
        let kinds = [
            SpanKind::Internal,
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Producer,
            SpanKind::Consumer,
        ];
        let statuses = [
            SpanStatus::Unset,
            SpanStatus::Ok,
            SpanStatus::Error { message: "".into() },
        ];
        let mut spans = Vec::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            for status in statuses.clone() {
                spans.push(SpanData {
                    kind,
                    status,
                    parent_span_id: (i % 2 == 0).then(|| SpanId::from_u64(i as u64 + 1)),
                    trace_flags: i as u8,
                    ..SpanData::default()
                });
            }
        }
        // Everything at its default: invalid ids (still 16 and 8 bytes), empty name, no file.
        spans.push(SpanData::default());
        check_spans(&spans);
    }

    #[test]
    fn huge_values_and_the_attribute_limits_match_the_reference() {
        let mut span = full_span();
        span.name = "a name that is long enough to need a two-byte length prefix, \
                     which is anything from 128 bytes on: padding padding padding padding";
        span.attributes = (0..MAX_SPAN_ATTRIBUTES)
            .map(|i| KeyValue::new(format!("attribute.{i}"), "v".repeat(i * 40)))
            .collect();
        span.attributes[0] = KeyValue::new("huge", "x".repeat(1 << 20));
        span.events = (0..128)
            .map(|i| SpanEvent {
                name: format!("event {i}").into(),
                timestamp_unix_nanos: i,
                attributes: (0..MAX_EVENT_ATTRIBUTES)
                    .map(|j| KeyValue::new(format!("k{j}"), j as i64))
                    .collect(),
                dropped_attributes_count: 1,
            })
            .collect();
        check_spans(&[span.clone(), span]);
    }

    /// A tiny deterministic generator (xorshift), for property-style cases.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn string(&mut self) -> String {
            const PIECES: [&str; 6] = ["", "a", "é", "日本", "🚀", "long text "];
            let n = [0, 1, 3, 40, 200][self.below(5) as usize];
            (0..n).map(|_| PIECES[self.below(6) as usize]).collect()
        }
        fn value(&mut self) -> Value {
            match self.below(4) {
                0 => Value::Bool(self.below(2) == 0),
                1 => Value::I64(self.next() as i64 >> self.below(64)),
                2 => Value::F64(f64::from_bits(self.next() & !(0x7ff << 52)) * 1e10),
                _ => Value::Str(self.string().into()),
            }
        }
        fn attributes(&mut self, max: u64) -> Vec<KeyValue> {
            (0..self.below(max + 1))
                .map(|_| KeyValue::new(self.string(), self.value()))
                .collect()
        }
    }

    fn random_span(rng: &mut Rng) -> SpanData {
        let name: &'static str = Box::leak(rng.string().into_boxed_str());
        let file: &'static str = Box::leak(rng.string().into_boxed_str());
        let start = rng.next() >> rng.below(64);
        SpanData {
            trace_id: TraceId::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next())),
            span_id: SpanId::from_u64(rng.next()),
            parent_span_id: (rng.below(2) == 0).then(|| SpanId::from_u64(rng.next())),
            trace_flags: rng.below(256) as u8,
            name,
            file,
            line: rng.next() as u32 >> rng.below(32),
            start_unix_nanos: start,
            end_unix_nanos: start.saturating_add(rng.below(1 << 40)),
            status: match rng.below(3) {
                0 => SpanStatus::Unset,
                1 => SpanStatus::Ok,
                _ => SpanStatus::Error {
                    message: rng.string().into(),
                },
            },
            attributes: rng.attributes(12),
            kind: [SpanKind::Internal, SpanKind::Server, SpanKind::Consumer][rng.below(3) as usize],
            events: (0..rng.below(3))
                .map(|_| SpanEvent {
                    name: rng.string().into(),
                    timestamp_unix_nanos: rng.next() >> rng.below(64),
                    attributes: rng.attributes(3),
                    dropped_attributes_count: rng.below(3) as u32,
                })
                .collect(),
            links: (0..rng.below(3))
                .map(|_| SpanLink {
                    trace_id: TraceId::from_u128(u128::from(rng.next())),
                    span_id: SpanId::from_u64(rng.next()),
                    trace_flags: rng.below(2) as u8,
                })
                .collect(),
            dropped: DroppedCounts {
                attributes: rng.below(2) as u32,
                events: rng.below(200) as u32,
                links: rng.next() as u32 >> rng.below(32),
            },
            ..SpanData::default()
        }
    }

    fn random_log(rng: &mut Rng) -> LogData {
        const TARGETS: [&str; 4] = ["app", "app::db", "", "ünï::code"];
        let traced = rng.below(3) != 0;
        LogData {
            timestamp_unix_nanos: rng.next() >> rng.below(64),
            level: [
                Level::Trace,
                Level::Debug,
                Level::Info,
                Level::Warn,
                Level::Error,
            ][rng.below(5) as usize],
            target: TARGETS[rng.below(4) as usize].into(),
            body: rng.string(),
            trace_id: traced.then(|| TraceId::from_u128(u128::from(rng.next()))),
            span_id: (traced || rng.below(2) == 0).then(|| SpanId::from_u64(rng.next())),
            trace_flags: rng.below(3) as u8,
            module_path: None,
            file: (rng.below(2) == 0).then(|| rng.string().into()),
            line: (rng.below(2) == 0).then(|| rng.next() as u32 >> rng.below(32)),
            attributes: rng.attributes(5),
        }
    }

    #[test]
    fn labels_are_encoded_after_the_stored_attributes() {
        use crate::callsite::{Callsite, LabelDesc};
        static LABELS: [LabelDesc; 2] = [
            LabelDesc {
                key: "method",
                cardinality: 2,
                value_name: |i| ["get", "post"][i],
            },
            LabelDesc {
                key: "error",
                cardinality: 3,
                value_name: |i| ["none", "timeout", "refused"][i],
            },
        ];
        static CS: Callsite = Callsite::new("f", "t", "t", "f.rs", 1, Level::Info, &LABELS);
        let spans: Vec<SpanData> = [5, 0, 3]
            .into_iter()
            .map(|index| SpanData {
                labels: crate::data::SpanLabels::new(&CS, index),
                ..full_span()
            })
            .collect();
        check_spans(&spans);
        // And the labels are there, as strings, after the span's own attributes.
        let encoded = OtlpEncoder::default().traces(&spans[..1], &[], false, NO_LIMIT);
        let request = ExportTraceServiceRequest::decode(encoded.parts[0].body.clone()).unwrap();
        let attrs = &request.resource_spans[0].scope_spans[0].spans[0].attributes;
        let tail: Vec<_> = attrs[attrs.len() - 2..]
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.clone().and_then(|v| v.value)))
            .collect();
        let string = |v: &str| Some(any_value::Value::StringValue(v.into()));
        assert_eq!(
            tail,
            [("method", string("post")), ("error", string("refused"))]
        );
    }

    #[test]
    fn random_spans_match_the_reference() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..300 {
            let n = rng.below(6) as usize;
            let spans: Vec<_> = (0..n).map(|_| random_span(&mut rng)).collect();
            check_spans(&spans);
        }
    }

    #[test]
    fn random_logs_match_the_reference() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..300 {
            let n = rng.below(9) as usize;
            let logs: Vec<_> = (0..n).map(|_| random_log(&mut rng)).collect();
            check_logs(&logs);
        }
    }

    #[test]
    fn logs_are_grouped_by_target_in_order_of_first_appearance() {
        let log = |target: &'static str, body: &str| LogData {
            timestamp_unix_nanos: 5,
            level: Level::Warn,
            target: target.into(),
            body: body.into(),
            trace_id: Some(TraceId::from_u128(7)),
            span_id: Some(SpanId::from_u64(9)),
            trace_flags: 1,
            module_path: None,
            file: Some("src/a.rs".into()),
            line: Some(3),
            attributes: vec![KeyValue::new("n", 1i64)],
        };
        let logs = [
            log("b", "1"),
            log("a", "2"),
            log("b", "3"),
            log("c", "4"),
            log("a", "5"),
        ];
        check_logs(&logs);
        let encoded = OtlpEncoder::default().logs(&logs, &[], NO_LIMIT);
        let request = ExportLogsServiceRequest::decode(encoded.parts[0].body.clone()).unwrap();
        let scopes: Vec<(String, Vec<String>)> = request.resource_logs[0]
            .scope_logs
            .iter()
            .map(|s| {
                let bodies = s.log_records.iter().map(|r| match &r.body {
                    Some(AnyValue {
                        value: Some(any_value::Value::StringValue(b)),
                    }) => b.clone(),
                    other => panic!("{other:?}"),
                });
                (s.scope.as_ref().unwrap().name.clone(), bodies.collect())
            })
            .collect();
        let expect =
            |t: &str, b: &[&str]| (t.to_owned(), b.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            scopes,
            [
                expect("b", &["1", "3"]),
                expect("a", &["2", "5"]),
                expect("c", &["4"])
            ]
        );
    }

    #[test]
    fn batches_are_cut_under_the_limit_keeping_every_span_in_order() {
        let mut rng = Rng(77);
        let spans: Vec<_> = (0..400).map(|_| random_span(&mut rng)).collect();
        let resource = resource();
        let reference = proto::traces(&spans, &resource, true);
        let all = &reference.resource_spans[0].scope_spans[0].spans;
        let mut encoder = OtlpEncoder::default();
        for limit in [2048, 16 * 1024, 100_000] {
            let encoded = encoder.traces(&spans, &resource.encode_to_vec(), true, limit);
            assert!(encoded.parts.len() > 1, "limit {limit}: one part");
            assert!(encoded.parts.iter().all(|p| p.body.len() <= limit));
            // Spans over the limit on their own are left out and counted; the rest arrive
            // in order.
            let fits = |s: &Span| s.encoded_len() + 300 < limit;
            let kept: Vec<Span> = all.iter().filter(|s| fits(s)).cloned().collect();
            let decoded = decoded_spans(&encoded, &resource);
            assert_eq!(decoded.len() as u64 + encoded.oversized, 400);
            assert_eq!(
                decoded
                    .iter()
                    .filter(|s| fits(s))
                    .cloned()
                    .collect::<Vec<_>>(),
                kept
            );
            // Parts are full: each would have overflowed with the next span.
            for pair in encoded.parts.windows(2) {
                let next = ExportTraceServiceRequest::decode(pair[1].body.clone()).unwrap();
                let first = next.resource_spans[0].scope_spans[0].spans[0].encoded_len();
                assert!(pair[0].body.len() + first > limit - 100, "limit {limit}");
            }
        }
    }

    #[test]
    fn a_span_over_the_limit_alone_is_left_out_and_counted() {
        let mut spans = vec![full_span(); 5];
        spans[2]
            .attributes
            .push(KeyValue::new("big", "y".repeat(10_000)));
        let encoded = OtlpEncoder::default().traces(&spans, &[], true, 4096);
        assert_eq!(encoded.oversized, 1);
        assert_eq!(encoded.parts.iter().map(|p| p.records).sum::<u64>(), 4);
        assert_eq!(decoded_spans(&encoded, &ProtoResource::default()).len(), 4);
        // A limit below any span: nothing sent, everything counted.
        let encoded = OtlpEncoder::default().traces(&spans, &[], true, 64);
        assert_eq!((encoded.parts.len(), encoded.oversized), (0, 5));
    }

    #[test]
    fn logs_split_across_scopes_keep_every_record_under_its_target() {
        let mut rng = Rng(5);
        let logs: Vec<_> = (0..300).map(|_| random_log(&mut rng)).collect();
        let resource = resource();
        let reference = proto::logs(&logs, &resource).resource_logs[0]
            .scope_logs
            .clone();
        // Records are at most about 24 KB here (a 2000-byte body, five attributes).
        let limit = 64 * 1024;
        let encoded = OtlpEncoder::default().logs(&logs, &resource.encode_to_vec(), limit);
        assert_eq!(encoded.oversized, 0);
        assert!(encoded.parts.len() > 3, "{}", encoded.parts.len());
        // Merge the parts' scopes back, by scope, in order.
        let mut merged: Vec<ScopeLogs> = Vec::new();
        for part in &encoded.parts {
            assert!(part.body.len() <= limit);
            let request = ExportLogsServiceRequest::decode(part.body.clone()).unwrap();
            assert_eq!(request.resource_logs.len(), 1);
            assert_eq!(request.resource_logs[0].resource.as_ref(), Some(&resource));
            let mut records = 0;
            for scope in &request.resource_logs[0].scope_logs {
                records += scope.log_records.len() as u64;
                match merged.iter_mut().find(|m| m.scope == scope.scope) {
                    Some(m) => m.log_records.extend(scope.log_records.iter().cloned()),
                    None => merged.push(scope.clone()),
                }
            }
            assert_eq!(records, part.records);
        }
        assert_eq!(merged, reference);
    }

    #[test]
    fn the_buffer_is_reused_once_the_bodies_are_dropped() {
        let spans = vec![full_span(); 50];
        let mut encoder = OtlpEncoder::default();
        let first = encoder.traces(&spans, &[], true, NO_LIMIT);
        let at = first.parts[0].body.as_ptr();
        let bytes = first.parts[0].body.clone();
        drop(first);
        drop(bytes);
        let second = encoder.traces(&spans, &[], true, NO_LIMIT);
        assert_eq!(second.parts[0].body.as_ptr(), at);
        // While a body is alive, the next batch goes elsewhere and the first stays intact.
        let copy = second.parts[0].body.to_vec();
        let third = encoder.traces(&spans[..1], &[], false, NO_LIMIT);
        assert_ne!(third.parts[0].body.as_ptr(), at);
        assert_eq!(second.parts[0].body.to_vec(), copy);
    }
}
