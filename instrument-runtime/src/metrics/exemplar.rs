//! Exemplars: for every bucket of every latency series, the latest call counted there whose
//! span was exported, so a backend can jump from a slow bucket to a trace.
//!
//! Chosen on the exporter thread, not on the call's thread: when it drains a span record it
//! knows what the call's close knew (callsite, `result`, label index, and the exact latency,
//! from the same pair of instants, so the same bucket), and it also knows what the call's
//! thread cannot: that the record made it into the ring (a record dropped because the ring was
//! full never reaches here) and which exporters it is handed to. A span becomes an exemplar
//! only if some exporter that exports spans takes it (see [`crate::data::Exemplar`] for the
//! exact guarantee). The application threads pay nothing for exemplars: not a branch, not a
//! store.
//!
//! Memory: one slot per (series, bucket) that ever had an exported span, bounded by the
//! number of series times [`super::histogram::BUCKETS`]. Owned by the exporter thread (no lock).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::buckets::bucket_of;
use crate::buffer::record::{SpanRecord, StatusCode};
use crate::callsite::series_index;
use crate::data::{Exemplar, SpanData};

/// (callsite index, series index, bucket).
type Key = (usize, usize, usize);

/// Where a drained span's call was counted: read from its record before it is converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Counted {
    key: Key,
    nanos: u64,
}

impl Counted {
    /// The series and bucket the call of `rec` was counted in; `None` for spans that are not
    /// counted in the call metrics (manual spans and `tracing` spans: their callsites never
    /// record a sample, so they are never registered).
    pub(crate) fn of(rec: &SpanRecord) -> Option<Counted> {
        // The latency exactly as the call's close computed it, from the same two instants.
        let nanos = crate::clock::nanos_between(rec.start, rec.end);
        Counted::at(rec.callsite, rec.status, rec.label_index as usize, nanos)
    }

    fn at(
        cs: &'static crate::callsite::Callsite,
        status: StatusCode,
        label_index: usize,
        nanos: u64,
    ) -> Option<Counted> {
        let index = cs.registered_index()?;
        // The record's status is the call's outcome (a status set through the span handle is
        // in its extras and does not change the series).
        let outcome = usize::from(status == StatusCode::Error);
        // Clamped as `CallsiteCells::record` clamps it: the series the sample landed in.
        let series = series_index(outcome, label_index).min(cs.series_count() - 1);
        let bucket = bucket_of(cs.buckets().padded(), nanos);
        Some(Counted {
            key: (index, series, bucket),
            nanos,
        })
    }
}

/// The latest exemplar of every (series, bucket).
#[derive(Default)]
pub(crate) struct Exemplars {
    latest: HashMap<Key, Exemplar, BuildHasherDefault<KeyHasher>>,
}

impl Exemplars {
    /// `span` (the converted record `counted` was read from) was handed to a span exporter:
    /// it becomes its bucket's exemplar.
    pub(crate) fn record(&mut self, counted: Counted, span: &SpanData) {
        let exemplar = Exemplar {
            bucket: counted.key.2,
            trace_id: span.trace_id,
            span_id: span.span_id,
            value: counted.nanos as f64 / 1e9,
            time_unix_nanos: span.end_unix_nanos,
        };
        self.latest.insert(counted.key, exemplar);
    }

    /// The exemplars of one series, ascending by bucket.
    pub(crate) fn of_series(
        &self,
        callsite: usize,
        series: usize,
        buckets: usize,
    ) -> Vec<Exemplar> {
        if self.latest.is_empty() {
            return Vec::new();
        }
        (0..buckets)
            .filter_map(|b| self.latest.get(&(callsite, series, b)).cloned())
            .collect()
    }
}

/// FxHash-style hasher for the small integer keys (the exporter thread looks one up per
/// drained span; SipHash's DoS resistance buys nothing for keys the program's code bounds).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callsite::Callsite;
    use crate::clock::Instant;
    use crate::{SpanId, TraceId};

    static CS: Callsite = Callsite::new("f", "t", "m", "f.rs", 1, crate::Level::Info, &[]);
    static NEVER_CALLED: Callsite =
        Callsite::new("g", "t", "m", "f.rs", 2, crate::Level::Info, &[]);

    fn counted(nanos: u64, status: StatusCode) -> Counted {
        Counted::at(&CS, status, 0, nanos).unwrap()
    }

    fn span(trace: u128, span: u64, end: u64) -> SpanData {
        SpanData {
            trace_id: TraceId::from_u128(trace),
            span_id: SpanId::from_u64(span),
            end_unix_nanos: end,
            ..SpanData::default()
        }
    }

    #[test]
    fn the_slot_is_the_bucket_and_series_the_call_was_counted_in() {
        let index = CS.index();
        // 300 us: the default bounds put it in `le=0.0005` (bucket 7); an error is series 1.
        let c = counted(300_000, StatusCode::Error);
        assert_eq!(c.key, (index, 1, 7));
        assert_eq!(c.nanos, 300_000);
        let ok = counted(100, StatusCode::Unset);
        assert_eq!(ok.key, (index, 0, 0), "100 ns is <= the first bound");
        let inf = counted(60_000_000_000, StatusCode::Unset);
        assert_eq!(inf.key, (index, 0, 20), "past the last bound: +Inf");
        // Out-of-range label index: clamped into the last series, like the sample.
        let clamped = Counted::at(&CS, StatusCode::Unset, 99, 1).unwrap();
        assert_eq!(clamped.key.1, 1);
        // From a record: the same instants the close measured.
        let at = Instant::now();
        let rec = SpanRecord {
            callsite: &CS,
            trace_hi: 1,
            trace_lo: 2,
            span_id: 3,
            parent_id: 0,
            start: at,
            end: at,
            status: StatusCode::Unset,
            flags: 1,
            label_index: 0,
            extras: None,
        };
        assert_eq!(Counted::of(&rec).unwrap().key, (index, 0, 0));
    }

    #[test]
    fn spans_that_were_never_counted_have_no_slot() {
        assert_eq!(Counted::at(&NEVER_CALLED, StatusCode::Unset, 0, 1), None);
    }

    #[test]
    fn the_latest_span_of_a_bucket_wins_and_buckets_are_ordered() {
        let index = CS.index();
        let mut table = Exemplars::default();
        assert!(table.of_series(index, 0, 21).is_empty());
        let slow = counted(2_000_000, StatusCode::Unset);
        let fast = counted(50, StatusCode::Unset);
        table.record(slow, &span(7, 70, 1_000));
        table.record(fast, &span(8, 80, 2_000));
        table.record(slow, &span(9, 90, 3_000));
        let got = table.of_series(index, 0, 21);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].bucket, got[0].span_id), (0, SpanId::from_u64(80)));
        assert_eq!(got[0].value, 50e-9);
        assert_eq!(got[1].bucket, 9, "2 ms is in le=0.005");
        assert_eq!(got[1].trace_id, TraceId::from_u128(9), "the latest one");
        assert_eq!(got[1].time_unix_nanos, 3_000);
        assert!(
            table.of_series(index, 1, 21).is_empty(),
            "other series untouched"
        );
    }
}
