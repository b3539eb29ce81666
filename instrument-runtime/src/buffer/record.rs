//! What an application thread writes into its ring: compact records that refer to static
//! metadata instead of copying it. The exporter thread turns them into [`crate::export`] data.

use crate::callsite::Callsite;
use crate::clock::Instant;
use crate::data::KeyValue;
use crate::Level;

/// Status of a finished span, as one byte; the message (if any) lives in [`SpanExtras`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusCode {
    Unset,
    Error,
}

/// Rarely present parts of a span record, boxed so the common record stays small.
#[derive(Debug, Default)]
pub(crate) struct SpanExtras {
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) error_message: Option<String>,
}

/// A finished, sampled span. Trace id halves are stored as two `u64` to keep the record
/// 8-byte aligned (a `u128` would pad it to 16).
#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub(crate) callsite: &'static Callsite,
    pub(crate) trace_hi: u64,
    pub(crate) trace_lo: u64,
    pub(crate) span_id: u64,
    pub(crate) parent_id: u64,
    pub(crate) start: Instant,
    pub(crate) end: Instant,
    pub(crate) status: StatusCode,
    pub(crate) flags: u8,
    /// The label values' part of the metric series index (mixed radix over the callsite's
    /// labels): the exporter renders the label attributes from it, so a labelled call
    /// allocates nothing for them. Fits in the record's padding.
    pub(crate) label_index: u32,
    pub(crate) extras: Option<Box<SpanExtras>>,
}

/// A log record captured on an application thread.
#[derive(Debug)]
pub(crate) struct LogRecordRaw {
    pub(crate) at: Instant,
    pub(crate) level: Level,
    pub(crate) target: String,
    pub(crate) body: String,
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    pub(crate) flags: u8,
    pub(crate) module_path: Option<&'static str>,
    pub(crate) file: Option<&'static str>,
    pub(crate) line: Option<u32>,
}

/// One entry of a thread's ring.
#[derive(Debug)]
pub(crate) enum Record {
    Span(SpanRecord),
    Log(Box<LogRecordRaw>),
}

impl Record {
    pub(crate) fn signal(&self) -> Signal {
        match self {
            Record::Span(_) => Signal::Span,
            Record::Log(_) => Signal::Log,
        }
    }
}

/// The two record signals, for accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Span = 0,
    Log = 1,
}

/// Admission priority under pressure: lower priorities are refused first as a ring fills
/// (Logback's rule: keep WARN/ERROR when the queue is more than 80% full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Priority {
    /// trace/debug records: admitted while the ring is at most half full.
    Low,
    /// info records: admitted while the ring is at most 80% full.
    Normal,
    /// warn/error records and error spans: admitted while there is room.
    High,
}

impl Priority {
    pub(crate) fn of(level: Level, is_error: bool) -> Priority {
        match level {
            _ if is_error => Priority::High,
            Level::Warn | Level::Error => Priority::High,
            Level::Info => Priority::Normal,
            Level::Trace | Level::Debug => Priority::Low,
        }
    }

    /// Free slots that must remain in a ring of `capacity` for this priority to be admitted.
    pub(crate) fn reserve(self, capacity: usize) -> usize {
        match self {
            Priority::Low => capacity / 2,
            Priority::Normal => capacity / 5,
            Priority::High => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn span_record_is_small() {
        // One cache line plus a little: the record written per sampled call.
        assert!(
            std::mem::size_of::<super::Record>() <= 72,
            "{}",
            std::mem::size_of::<super::Record>()
        );
    }
}
