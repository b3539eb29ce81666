//! Turning ring records into export data: static metadata looked up, monotonic instants mapped
//! to wall-clock time. Runs on the exporter thread only.

use std::borrow::Cow;

use crate::buffer::record::{ExportedExtras, LogRecordRaw, SpanRecord};
use crate::clock::WallClock;
use crate::data::{LogData, SpanData};
use crate::{SpanId, TraceId};

pub(crate) fn span(rec: SpanRecord, clock: &WallClock) -> SpanData {
    let cs = rec.callsite;
    let start = clock.unix_nanos(rec.start);
    // Duration from the monotonic pair, so the exported end is never before the start.
    let end = start + crate::clock::nanos_between(rec.start, rec.end);
    let mut extras = ExportedExtras::resolve(rec.extras, rec.status, clock);
    extras
        .attributes
        .extend(label_attributes(cs, rec.label_index as usize));
    SpanData {
        trace_id: TraceId::from_u128(u128::from(rec.trace_hi) << 64 | u128::from(rec.trace_lo)),
        span_id: SpanId::from_u64(rec.span_id),
        parent_span_id: Some(SpanId::from_u64(rec.parent_id)).filter(|p| p.is_valid()),
        trace_flags: rec.flags,
        name: cs.name,
        target: cs.target,
        module_path: cs.module_path,
        file: cs.file,
        line: cs.line,
        level: cs.level,
        start_unix_nanos: start,
        end_unix_nanos: end,
        status: extras.status,
        attributes: extras.attributes,
        kind: extras.kind,
        events: extras.events,
        links: extras.links,
        dropped: extras.dropped,
    }
}

/// The call's labels as span attributes, decoded from the series index (mixed radix, first
/// label least significant). The `error` label is only shown for an `Err` (its digit 0 means
/// "no error").
fn label_attributes(
    cs: &'static crate::callsite::Callsite,
    label_index: usize,
) -> impl Iterator<Item = crate::data::KeyValue> {
    cs.label_digits(label_index)
        .filter(|(l, digit)| !(l.key == "error" && *digit == 0))
        .map(|(l, digit)| crate::data::KeyValue::new(l.key, (l.value_name)(digit)))
}

pub(crate) fn log(rec: LogRecordRaw, clock: &WallClock) -> LogData {
    let trace_id = Some(TraceId::from_u128(rec.trace_id)).filter(|t| t.is_valid());
    LogData {
        timestamp_unix_nanos: clock.unix_nanos(rec.at),
        level: rec.level,
        target: rec.target,
        body: rec.body,
        trace_id,
        span_id: trace_id.and(Some(SpanId::from_u64(rec.span_id))),
        trace_flags: rec.flags,
        module_path: rec.module_path.map(Cow::Borrowed),
        file: rec.file.map(Cow::Borrowed),
        line: rec.line,
        attributes: rec.attributes,
    }
}
