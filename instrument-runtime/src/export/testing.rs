//! An in-memory exporter for tests: everything exported is kept and can be inspected, and
//! failures (errors, hangs, panics) can be injected to test the pipeline's resilience.
//!
//! ```
//! use std::time::Duration;
//! use instrument_runtime::{instrument, testing::TestExporter};
//!
//! #[instrument]
//! fn work() {}
//!
//! let (exporter, collected) = TestExporter::new();
//! let telemetry = instrument_runtime::builder().exporter(exporter).install().unwrap();
//! work();
//! telemetry.flush(Duration::from_secs(5));
//! assert_eq!(collected.spans_named("work").len(), 1);
//! ```

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::{Batch, ExportError, Exporter, LogData, MetricsSnapshot, SpanData};

/// What the test exporter does with the next batches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// Keep every batch.
    Accept,
    /// Fail every batch with a retryable error.
    FailRetryable,
    /// Fail every batch with a permanent error.
    FailPermanent,
    /// Block forever on the next export (until [`Collected::release`]).
    Hang,
    /// Panic on the next export.
    Panic,
    /// Fail every other export with a retryable error (the first fails), accept the rest: a
    /// flapping collector.
    Flap,
    /// Sleep this long in every export, then accept (a slow receiver).
    Slow(Duration),
}

/// Which other methods panic (each can be set on its own).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Panics {
    /// `flush` panics.
    pub flush: bool,
    /// `shutdown` panics.
    pub shutdown: bool,
    /// `Drop` panics.
    pub drop: bool,
}

#[derive(Debug, Default)]
struct Inner {
    spans: Vec<SpanData>,
    logs: Vec<LogData>,
    metrics: Option<MetricsSnapshot>,
    exports: usize,
    flushes: usize,
    shutdowns: usize,
    behavior: Option<Behavior>,
    released: bool,
    attempts: usize,
    panics: Panics,
    dropped: bool,
}

/// The exporter half: give it to the builder.
#[derive(Debug)]
pub struct TestExporter {
    shared: Arc<(Mutex<Inner>, Condvar)>,
    name: &'static str,
}

/// The inspection half: read what was exported.
#[derive(Debug, Clone)]
pub struct Collected {
    shared: Arc<(Mutex<Inner>, Condvar)>,
}

impl TestExporter {
    /// A new exporter and the handle to read what it received.
    pub fn new() -> (TestExporter, Collected) {
        Self::named("testing")
    }

    /// Like [`TestExporter::new`], with this [`Exporter::name`] (to tell several apart in
    /// [`Stats::exporters`](crate::Stats::exporters)).
    pub fn named(name: &'static str) -> (TestExporter, Collected) {
        let shared = Arc::new((Mutex::new(Inner::default()), Condvar::new()));
        (
            TestExporter {
                shared: Arc::clone(&shared),
                name,
            },
            Collected { shared },
        )
    }
}

fn lock(shared: &(Mutex<Inner>, Condvar)) -> MutexGuard<'_, Inner> {
    shared.0.lock().unwrap_or_else(|p| p.into_inner())
}

impl Exporter for TestExporter {
    fn name(&self) -> &'static str {
        self.name
    }

    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        let (behavior, attempt) = {
            let mut g = lock(&self.shared);
            g.attempts += 1;
            (g.behavior.clone().unwrap_or(Behavior::Accept), g.attempts)
        };
        match behavior {
            Behavior::Flap if attempt % 2 == 1 => {
                return Err(ExportError::retryable("injected flap"))
            }
            Behavior::Flap => {}
            Behavior::Slow(d) => std::thread::sleep(d),
            Behavior::Accept => {}
            Behavior::FailRetryable => return Err(ExportError::retryable("injected")),
            Behavior::FailPermanent => return Err(ExportError::permanent("injected")),
            Behavior::Hang => {
                let mut g = lock(&self.shared);
                while !g.released {
                    g = self.shared.1.wait(g).unwrap_or_else(|p| p.into_inner());
                }
            }
            Behavior::Panic => panic!("injected exporter panic"),
        }
        let mut g = lock(&self.shared);
        g.exports += 1;
        g.spans.extend(batch.spans.iter().cloned());
        g.logs.extend(batch.logs.iter().cloned());
        if let Some(m) = &batch.metrics {
            g.metrics = Some(m.clone());
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        let panics = {
            let mut g = lock(&self.shared);
            g.flushes += 1;
            g.panics.flush
        };
        if panics {
            panic!("injected flush panic");
        }
        Ok(())
    }

    fn shutdown(&mut self) -> Result<(), ExportError> {
        let panics = {
            let mut g = lock(&self.shared);
            g.shutdowns += 1;
            g.panics.shutdown
        };
        if panics {
            panic!("injected shutdown panic");
        }
        Ok(())
    }
}

impl Drop for TestExporter {
    fn drop(&mut self) {
        let panics = {
            let mut g = lock(&self.shared);
            g.dropped = true;
            g.panics.drop
        };
        if panics && !std::thread::panicking() {
            panic!("injected Drop panic");
        }
    }
}

impl Collected {
    /// Every span exported so far.
    pub fn spans(&self) -> Vec<SpanData> {
        lock(&self.shared).spans.clone()
    }

    /// Spans with this name.
    pub fn spans_named(&self, name: &str) -> Vec<SpanData> {
        lock(&self.shared)
            .spans
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }

    /// Every log record exported so far.
    pub fn logs(&self) -> Vec<LogData> {
        lock(&self.shared).logs.clone()
    }

    /// The latest metrics snapshot.
    pub fn metrics(&self) -> Option<MetricsSnapshot> {
        lock(&self.shared).metrics.clone()
    }

    /// Number of successful `export` calls.
    pub fn exports(&self) -> usize {
        lock(&self.shared).exports
    }

    /// Number of `flush` calls.
    pub fn flushes(&self) -> usize {
        lock(&self.shared).flushes
    }

    /// Number of `shutdown` calls.
    pub fn shutdowns(&self) -> usize {
        lock(&self.shared).shutdowns
    }

    /// Sets what the exporter does with the next batches.
    pub fn set_behavior(&self, behavior: Behavior) {
        lock(&self.shared).behavior = Some(behavior);
    }

    /// Makes `flush`, `shutdown` or `Drop` panic.
    pub fn set_panics(&self, panics: Panics) {
        lock(&self.shared).panics = panics;
    }

    /// Number of `export` calls, failed ones included.
    pub fn attempts(&self) -> usize {
        lock(&self.shared).attempts
    }

    /// `true` once the exporter was dropped.
    pub fn was_dropped(&self) -> bool {
        lock(&self.shared).dropped
    }

    /// Unblocks a [`Behavior::Hang`] export (and every later one).
    pub fn release(&self) {
        let mut g = lock(&self.shared);
        g.released = true;
        g.behavior = Some(Behavior::Accept);
        self.shared.1.notify_all();
    }

    /// Forgets everything collected.
    pub fn clear(&self) {
        let mut g = lock(&self.shared);
        g.spans.clear();
        g.logs.clear();
        g.metrics = None;
    }

    /// Waits (up to `timeout`) until `cond` holds for the collected spans.
    pub fn wait_for_spans(&self, timeout: Duration, cond: impl Fn(&[SpanData]) -> bool) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if cond(&lock(&self.shared).spans) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The value of counter `function_calls_total` for a function and result, from the latest
    /// snapshot (0 if absent).
    pub fn call_count(&self, function: &str, result: &str) -> u64 {
        let Some(snapshot) = self.metrics() else {
            return 0;
        };
        let Some(metric) = snapshot.get(crate::metrics::aggregate::CALLS_TOTAL) else {
            return 0;
        };
        let super::MetricData::Counter(points) = &metric.data else {
            return 0;
        };
        points
            .iter()
            .filter(|p| {
                p.labels
                    .iter()
                    .any(|(k, v)| k == "function" && v == function)
                    && p.labels.iter().any(|(k, v)| k == "result" && v == result)
            })
            .map(|p| p.value)
            .sum()
    }
}
