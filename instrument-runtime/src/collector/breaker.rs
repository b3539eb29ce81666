//! Retry with backoff and a circuit breaker, one per exporter (each sink has its own, see
//! [`super::sink`]).
//!
//! - A retryable failure (or a timeout) keeps the batch at the head of that exporter's queue
//!   and retries it after an exponential backoff; the other exporters are not affected, and
//!   the exporter's queue bound keeps its memory bounded (past it, its records are dropped
//!   `exporter_queue_full`).
//! - After `MAX_ATTEMPTS` failures in a row the batch is dropped (`export_failed`) and the
//!   circuit opens: batches are drained and dropped (`circuit_open`) until a cool-down passes;
//!   then one batch is tried (half-open): success closes the circuit, failure reopens it with a
//!   doubled cool-down. Export resumes by itself when the collector comes back.
//! - A permanent failure drops the batch (`export_failed`) and does not trip the breaker: the
//!   data is bad, not the collector.

use std::time::{Duration, Instant};

use crate::export::{ExportError, ExportErrorKind};

/// Attempts of one batch before it is dropped and the circuit opens.
pub(crate) const MAX_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const FIRST_COOLDOWN: Duration = Duration::from_secs(1);
const MAX_COOLDOWN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Closed,
    Open { until: Instant },
}

/// What to do with a batch after an export attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Exported,
    /// Keep the batch and try again at this time.
    RetryAt(Instant),
    /// Drop the batch as failed.
    Drop,
    /// The receiver took the batch but rejected this many of its records.
    Partial(u64),
}

#[derive(Debug)]
pub(crate) struct Breaker {
    state: State,
    attempts: u32,
    cooldown: Duration,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            state: State::Closed,
            attempts: 0,
            cooldown: FIRST_COOLDOWN,
        }
    }
}

impl Breaker {
    /// `true` if batches must be dropped without an attempt right now.
    pub(crate) fn is_open(&self, now: Instant) -> bool {
        matches!(self.state, State::Open { until } if now < until)
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// Records the result of one attempt.
    pub(crate) fn on_result(&mut self, result: &Result<(), ExportError>, now: Instant) -> Verdict {
        match result {
            Ok(()) => {
                *self = Breaker::default();
                Verdict::Exported
            }
            // A partial success is an answer from a healthy receiver: the breaker resets.
            Err(ExportError {
                kind: ExportErrorKind::Rejected { count },
                ..
            }) => {
                *self = Breaker::default();
                Verdict::Partial(*count)
            }
            Err(e) if e.kind == ExportErrorKind::Permanent => {
                self.attempts = 0;
                Verdict::Drop
            }
            Err(_) => self.on_retryable(now),
        }
    }

    fn on_retryable(&mut self, now: Instant) -> Verdict {
        self.attempts += 1;
        let half_open = matches!(self.state, State::Open { .. });
        if half_open || self.attempts >= MAX_ATTEMPTS {
            if half_open {
                self.cooldown = (self.cooldown * 2).min(MAX_COOLDOWN);
            }
            self.state = State::Open {
                until: now + self.cooldown,
            };
            self.attempts = 0;
            return Verdict::Drop;
        }
        Verdict::RetryAt(now + FIRST_BACKOFF * 2u32.pow(self.attempts - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_max_attempts_and_recovers() {
        let mut b = Breaker::default();
        let t0 = Instant::now();
        let fail = Err(ExportError::retryable("down"));
        assert!(matches!(b.on_result(&fail, t0), Verdict::RetryAt(_)));
        assert!(matches!(b.on_result(&fail, t0), Verdict::RetryAt(_)));
        assert_eq!(b.on_result(&fail, t0), Verdict::Drop);
        assert!(b.is_open(t0));
        assert!(!b.is_open(t0 + FIRST_COOLDOWN));
        // half-open failure: reopen with a doubled cool-down
        assert_eq!(b.on_result(&fail, t0 + FIRST_COOLDOWN), Verdict::Drop);
        assert!(b.is_open(t0 + FIRST_COOLDOWN * 2));
        assert_eq!(
            b.on_result(&Ok(()), t0 + FIRST_COOLDOWN * 4),
            Verdict::Exported
        );
        assert_eq!(b.state(), State::Closed);
    }

    #[test]
    fn permanent_errors_do_not_trip() {
        let mut b = Breaker::default();
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(
                b.on_result(&Err(ExportError::permanent("bad")), t0),
                Verdict::Drop
            );
        }
        assert!(!b.is_open(t0));
    }
}
