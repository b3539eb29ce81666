//! The producer side of a thread's ring: admission by priority, and the half-full wake of
//! the exporter. The consumer side is [`super::registry::RingHandle`], drained by the exporter
//! thread. The ring itself is `rtrb`'s wait-free SPSC ring buffer.

use super::record::{Priority, Record};
use super::registry;
use crate::stats::DropReason;
use crate::switches;

/// One thread's ring (owned by that thread's [`crate::local`] state).
pub(crate) struct Ring {
    producer: rtrb::Producer<Record>,
    capacity: usize,
    /// The exporter was woken for this ring's fill and has not been seen to drain it since.
    woke: bool,
}

impl Ring {
    /// This thread's ring: an exited thread's ring from the pool if one of the configured
    /// capacity is there (records it still holds are drained as before), else a new one,
    /// registered with the exporter. See [`registry`] for the resulting memory bound.
    #[cold]
    pub(crate) fn register() -> Ring {
        switches::restart_if_pending();
        let capacity = switches::ring_capacity();
        let producer = registry::take_ring(capacity);
        Ring {
            producer,
            capacity,
            woke: false,
        }
    }

    /// At thread exit: gives the ring back to the pool for the next new thread (its consumer
    /// stays with the exporter, which drains what is left).
    #[cold]
    pub(crate) fn recycle(self) {
        registry::recycle(self.producer, self.capacity);
    }

    #[inline]
    pub(crate) fn push(&mut self, record: Record, priority: Priority) -> Result<(), DropReason> {
        let reserve = priority.reserve(self.capacity);
        // `cached_slots` reads only this thread's cache; the consumer's head (a line the
        // exporter writes) is loaded only when the cached view says we are short of room.
        if self.producer.cached_slots() <= reserve && self.producer.slots() <= reserve {
            return Err(DropReason::QueueFull);
        }
        self.producer
            .push(record)
            .map_err(|_| DropReason::QueueFull)?;
        self.wake_if_half_full();
        Ok(())
    }

    /// Most slots one multi-slot record may take in this ring (an eighth of it, at least 1):
    /// an inline log record needing more takes the boxed path instead.
    #[inline]
    pub(crate) fn max_chunk(&self) -> usize {
        (self.capacity / 8).max(1)
    }

    /// Pushes the `n` slots of one multi-slot record (an inline log record), admitted as one
    /// record of `priority` that needs `n` free slots beyond the priority's reserve. `write`
    /// writes slot `i` in place (each slot starts as [`Record::default`], an empty part), so
    /// no copy of the record is made on the stack; the slots are committed together, so the
    /// exporter sees all of the record or none.
    #[inline]
    pub(crate) fn push_chunk(
        &mut self,
        n: usize,
        priority: Priority,
        mut write: impl FnMut(usize, &mut Record),
    ) -> Result<(), DropReason> {
        let needed = priority.reserve(self.capacity) + n;
        if self.producer.cached_slots() < needed && self.producer.slots() < needed {
            return Err(DropReason::QueueFull);
        }
        let mut chunk = self
            .producer
            .write_chunk(n)
            .map_err(|_| DropReason::QueueFull)?;
        let (first, second) = chunk.as_mut_slices();
        for (i, slot) in first.iter_mut().chain(second.iter_mut()).enumerate() {
            write(i, slot);
        }
        chunk.commit_all();
        self.wake_if_half_full();
        Ok(())
    }

    /// Wakes the exporter once when the ring passes half full (fastrace's rule), so a burst is
    /// drained before it overflows; re-armed once the ring is seen below half again.
    #[inline]
    fn wake_if_half_full(&mut self) {
        if self.producer.cached_slots() >= self.capacity / 2 {
            // At least half is really free (the cached view only under-reports): the exporter
            // drained this ring since any earlier wake, so the next crossing must wake it again.
            self.woke = false;
            return;
        }
        if self.producer.slots() >= self.capacity / 2 {
            self.woke = false;
        } else if !self.woke {
            self.woke = true;
            registry::wake_exporter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::record::LogRecordRaw;
    use crate::Level;

    fn log() -> Record {
        Record::Log(Box::new(LogRecordRaw {
            at: crate::clock::Instant::now(),
            level: Level::Error,
            target: "".into(),
            body: String::new(),
            trace_id: 0,
            span_id: 0,
            flags: 0,
            module_path: None,
            file: None,
            line: None,
            attributes: Vec::new(),
        }))
    }

    #[test]
    fn half_full_wake_is_rearmed_after_a_drain() {
        let (producer, mut consumer) = rtrb::RingBuffer::new(8);
        let mut ring = Ring {
            producer,
            capacity: 8,
            woke: false,
        };
        for _ in 0..6 {
            ring.push(log(), Priority::High).unwrap();
        }
        assert!(ring.woke, "passing half full wakes the exporter");
        while consumer.pop().is_ok() {}
        // The producer learns of the drain (here through the admission check's refresh, the
        // path that used to leave `woke` set for good).
        assert_eq!(ring.producer.slots(), 8);
        ring.push(log(), Priority::High).unwrap();
        assert!(!ring.woke, "a drained ring re-arms the wake");
        for _ in 0..5 {
            ring.push(log(), Priority::High).unwrap();
        }
        assert!(ring.woke, "the next crossing wakes the exporter again");
        // Admission: only high-priority records get the last fifth of the ring.
        assert_eq!(ring.push(log(), Priority::Low), Err(DropReason::QueueFull));
    }
}
