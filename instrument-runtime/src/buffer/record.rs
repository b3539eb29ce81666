//! What an application thread writes into its ring: compact records that refer to static
//! metadata instead of copying it. The exporter thread turns them into [`crate::export`] data.

use std::borrow::Cow;

use crate::callsite::Callsite;
use crate::clock::{Instant, WallClock};
use crate::data::{DroppedCounts, KeyValue, SpanEvent, SpanKind, SpanLink, SpanStatus};
use crate::Level;

/// Most attributes one span keeps (fields, labels, late records); more are counted in
/// [`DroppedCounts::attributes`]. A key recorded again replaces its value (no new slot).
pub const MAX_SPAN_ATTRIBUTES: usize = 128;
/// Most events one span keeps; more are counted in [`DroppedCounts::events`].
pub const MAX_SPAN_EVENTS: usize = 128;
/// Most links one span keeps; more are counted in [`DroppedCounts::links`].
pub const MAX_SPAN_LINKS: usize = 128;
/// Most attributes one event keeps; more are counted in the event's
/// `dropped_attributes_count`.
pub const MAX_EVENT_ATTRIBUTES: usize = 32;

/// Status of a finished span, as one byte; the message (if any) lives in [`SpanExtras`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusCode {
    Unset,
    Error,
}

/// Rarely present parts of a span record, boxed so the common record stays small: allocated
/// only for a sampled span that records something beyond its ids and times.
#[derive(Debug, Default)]
pub(crate) struct SpanExtras {
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) error_message: Option<String>,
    /// Set by `kind = ...`, a manual span's builder or the span handle; `None`: internal.
    pub(crate) kind: Option<SpanKind>,
    pub(crate) events: Vec<EventRaw>,
    pub(crate) links: Vec<SpanLink>,
    /// A status set through the span handle; wins over the call's outcome.
    pub(crate) status: Option<SpanStatus>,
    pub(crate) dropped: DroppedCounts,
}

/// An event as recorded on the application thread (monotonic time).
#[derive(Debug)]
pub(crate) struct EventRaw {
    pub(crate) name: Cow<'static, str>,
    pub(crate) at: Instant,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) dropped: u32,
}

impl EventRaw {
    /// An event at `at` with no attributes yet.
    pub(crate) fn new(name: Cow<'static, str>, at: Instant) -> Self {
        EventRaw {
            name,
            at,
            attributes: Vec::new(),
            dropped: 0,
        }
    }

    /// Adds an attribute, or counts it as dropped past [`MAX_EVENT_ATTRIBUTES`].
    pub(crate) fn push(&mut self, kv: KeyValue) {
        if self.attributes.len() < MAX_EVENT_ATTRIBUTES {
            self.attributes.push(kv);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }
}

impl SpanExtras {
    /// Sets an attribute: replaces the value of a key already there, else appends it while
    /// there is room (else counts it as dropped).
    pub(crate) fn set_attribute(&mut self, kv: KeyValue) {
        if let Some(slot) = self.attributes.iter_mut().find(|a| a.key == kv.key) {
            slot.value = kv.value;
        } else if self.attributes.len() < MAX_SPAN_ATTRIBUTES {
            self.attributes.push(kv);
        } else {
            self.dropped.attributes = self.dropped.attributes.saturating_add(1);
        }
    }

    /// Adds an event, or counts it as dropped past [`MAX_SPAN_EVENTS`].
    pub(crate) fn add_event(&mut self, event: EventRaw) {
        if self.events.len() < MAX_SPAN_EVENTS {
            self.events.push(event);
        } else {
            self.dropped.events = self.dropped.events.saturating_add(1);
        }
    }

    /// Adds a link, or counts it as dropped past [`MAX_SPAN_LINKS`].
    pub(crate) fn add_link(&mut self, link: SpanLink) {
        if self.links.len() < MAX_SPAN_LINKS {
            self.links.push(link);
        } else {
            self.dropped.links = self.dropped.links.saturating_add(1);
        }
    }

    /// Folds in what was recorded later (through the span handle): its attributes replace
    /// equal keys, its events and links follow, its kind and status win when set.
    pub(crate) fn merge(&mut self, later: SpanExtras) {
        for kv in later.attributes {
            self.set_attribute(kv);
        }
        for event in later.events {
            self.add_event(event);
        }
        for link in later.links {
            self.add_link(link);
        }
        if later.error_message.is_some() {
            self.error_message = later.error_message;
        }
        if later.kind.is_some() {
            self.kind = later.kind;
        }
        if later.status.is_some() {
            self.status = later.status;
        }
        self.dropped.attributes = self
            .dropped
            .attributes
            .saturating_add(later.dropped.attributes);
        self.dropped.events = self.dropped.events.saturating_add(later.dropped.events);
        self.dropped.links = self.dropped.links.saturating_add(later.dropped.links);
    }
}

/// What the exporter needs of a span's extras, resolved (wall-clock event times, the final
/// status). Made on the exporter thread.
#[derive(Debug, Default)]
pub(crate) struct ExportedExtras {
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) status: SpanStatus,
    pub(crate) kind: SpanKind,
    pub(crate) events: Vec<SpanEvent>,
    pub(crate) links: Vec<SpanLink>,
    pub(crate) dropped: DroppedCounts,
}

impl ExportedExtras {
    /// Resolves `extras` of a span that ended with `code`: a status set through the handle
    /// wins over the outcome's.
    pub(crate) fn resolve(
        extras: Option<Box<SpanExtras>>,
        code: StatusCode,
        clock: &WallClock,
    ) -> ExportedExtras {
        let extras = extras.map(|b| *b).unwrap_or_default();
        let outcome = match code {
            StatusCode::Unset => SpanStatus::Unset,
            StatusCode::Error => SpanStatus::Error {
                message: Cow::Owned(extras.error_message.unwrap_or_default()),
            },
        };
        ExportedExtras {
            attributes: extras.attributes,
            status: extras.status.unwrap_or(outcome),
            kind: extras.kind.unwrap_or_default(),
            events: extras
                .events
                .into_iter()
                .map(|e| SpanEvent {
                    name: e.name,
                    timestamp_unix_nanos: clock.unix_nanos(e.at),
                    attributes: e.attributes,
                    dropped_attributes_count: e.dropped,
                })
                .collect(),
            links: extras.links,
            dropped: extras.dropped,
        }
    }
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
    pub(crate) target: Cow<'static, str>,
    pub(crate) body: String,
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    pub(crate) flags: u8,
    pub(crate) module_path: Option<&'static str>,
    pub(crate) file: Option<&'static str>,
    pub(crate) line: Option<u32>,
    /// Structured fields (`log` key-values, `tracing` event fields).
    pub(crate) attributes: Vec<KeyValue>,
}

/// One entry of a thread's ring.
#[derive(Debug)]
pub(crate) enum Record {
    Span(SpanRecord),
    /// A log record on the heap: the fallback for records that do not fit inline.
    Log(Box<LogRecordRaw>),
    /// A log record written into the ring itself: this head and the `parts` [`Record::Part`]
    /// slots that follow it, pushed and committed together (see [`super::inline`]).
    LogInline(super::inline::InlineHead),
    /// Payload of the inline log record before it; not a record of its own.
    Part(super::inline::Part),
}

impl Record {
    /// The signal this record counts in (a [`Record::Part`] belongs to a log record and is
    /// never counted by itself: see [`Record::is_part`]).
    pub(crate) fn signal(&self) -> Signal {
        match self {
            Record::Span(_) => Signal::Span,
            Record::Log(_) | Record::LogInline(_) | Record::Part(_) => Signal::Log,
        }
    }

    /// `true` for the payload slots of an inline log record.
    pub(crate) fn is_part(&self) -> bool {
        matches!(self, Record::Part(_))
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
