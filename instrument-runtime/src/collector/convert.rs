//! Turning ring records into export data: static metadata looked up, monotonic instants mapped
//! to wall-clock time. Runs on the exporter thread only.

use std::borrow::Cow;

use crate::buffer::record::{ExportedExtras, LogRecordRaw, SpanRecord};
use crate::clock::WallClock;
use crate::data::{LogData, SpanData, SpanLabels};
use crate::{SpanId, TraceId};

pub(crate) fn span(rec: SpanRecord, clock: &WallClock) -> SpanData {
    let cs = rec.callsite;
    let start = clock.unix_nanos(rec.start);
    // Duration from the monotonic pair, so the exported end is never before the start.
    let end = start + crate::clock::nanos_between(rec.start, rec.end);
    let extras = ExportedExtras::resolve(rec.extras, rec.status, clock);
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
        labels: SpanLabels::new(cs, rec.label_index),
        kind: extras.kind,
        events: extras.events,
        links: extras.links,
        dropped: extras.dropped,
    }
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
