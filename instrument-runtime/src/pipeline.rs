//! Installing the pipeline, and the guard that flushes and shuts it down.
//!
//! Every wait an application thread does here has a deadline: the answer comes back over a
//! channel read with `recv_timeout`, so a hung exporter, a blocked runtime or a deadlock in an
//! exporter can only make a flush report "timed out", never hang the caller. The exporter
//! thread owns everything it needs, so calling these from inside any async runtime (including
//! a `current_thread` one) cannot deadlock.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use crate::buffer::registry;
use crate::collector::sink::Sink;
use crate::collector::thread::{Collector, Command, Shared, SinkSpec};
use crate::config::{self, Config};
use crate::export::{ExportError, Exporter, SinkFilter};
use crate::limits;
use crate::stats::{FlushReport, Stats};
use crate::switches::{self, ForkHooks, SAMPLER};

/// Why the pipeline could not be installed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// A pipeline is already running in this process.
    AlreadyInstalled,
    /// The exporter thread (or an exporter's worker thread) could not be started.
    Spawn(std::io::Error),
    /// Initialisation panicked (in an exporter's constructor, say); nothing was installed and
    /// a later `install()` may try again.
    Panicked,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::AlreadyInstalled => {
                f.write_str("the telemetry pipeline is already installed")
            }
            InitError::Spawn(e) => write!(f, "cannot start the exporter thread: {e}"),
            InitError::Panicked => f.write_str("initialisation panicked; nothing was installed"),
        }
    }
}

impl std::error::Error for InitError {}

/// Why an exporter swap did not complete.
#[derive(Debug)]
#[non_exhaustive]
pub enum SwapError {
    /// No pipeline is running.
    NotRunning,
    /// The exporter thread did not answer before the deadline (the swap may still happen).
    TimedOut,
    /// The old exporter's shutdown failed (the new exporter is in place).
    OldExporter(ExportError),
}

impl fmt::Display for SwapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwapError::NotRunning => f.write_str("no telemetry pipeline is running"),
            SwapError::TimedOut => f.write_str("the exporter thread did not answer in time"),
            SwapError::OldExporter(e) => {
                write!(f, "the previous exporter failed to shut down: {e}")
            }
        }
    }
}

impl std::error::Error for SwapError {}

/// What application threads hold to talk to the exporter thread.
struct Handle {
    tx: Sender<Command>,
    thread: std::thread::Thread,
    shared: Arc<Shared>,
}

impl Handle {
    /// Sends a command and waits for its answer until `timeout`. The exporter thread gets a
    /// deadline a little earlier, so it answers (with what it could do) before we give up.
    fn request<T>(
        &self,
        make: impl FnOnce(mpsc::SyncSender<T>, Instant) -> Command,
        timeout: Duration,
    ) -> Option<T> {
        let (reply, answer) = mpsc::sync_channel(1);
        let margin = (timeout / 20).min(Duration::from_millis(50));
        let deadline = Instant::now() + timeout.saturating_sub(margin);
        self.tx.send(make(reply, deadline)).ok()?;
        self.thread.unpark();
        answer.recv_timeout(timeout).ok()
    }

    fn stats(&self) -> Stats {
        self.shared
            .stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The running pipeline, for the free functions ([`flush`], [`set_exporter`]).
static CURRENT: ArcSwapOption<Handle> = ArcSwapOption::const_empty();
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Builds and installs the telemetry pipeline.
///
/// ```
/// use std::time::Duration;
/// use instrument_runtime::testing::TestExporter;
///
/// let (exporter, _spans) = TestExporter::new();
/// let telemetry = instrument_runtime::builder()
///     .service_name("checkout")
///     .sample_ratio(0.25)
///     .exporter(exporter)
///     .install()
///     .expect("first install");
/// let report = telemetry.shutdown_with_timeout(Duration::from_secs(2));
/// assert!(report.completed);
/// ```
#[must_use = "call .install() to start the pipeline"]
pub struct Builder {
    cfg: Config,
    exporters: Vec<(Source, SinkFilter)>,
    log_level: Option<crate::Level>,
    filter: Option<crate::Filter>,
    log_bridge: bool,
}

/// Makes an exporter; kept so a forked child can make its own.
type Factory = Arc<dyn Fn() -> Box<dyn Exporter> + Send + Sync>;

/// Where an exporter comes from.
enum Source {
    Instance(Box<dyn Exporter>),
    Factory(Factory),
}

/// What a forked child needs to start its own pipeline.
struct Recipe {
    cfg: Config,
    /// `None` when an exporter was given as an instance (it cannot be re-created).
    factories: Option<Vec<(Factory, SinkFilter)>>,
    /// No exporter was given: select them from the environment (`factories` is empty).
    from_env: bool,
    // Without the `log` feature there is no bridge to install in the child, so this is kept
    // but never read.
    #[cfg_attr(not(feature = "log"), allow(dead_code))]
    log_bridge: bool,
}

/// The recipe of the running pipeline (written on install, read after a fork).
static RECIPE: std::sync::Mutex<Option<Recipe>> = std::sync::Mutex::new(None);

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.cfg)
            .field("exporters", &self.exporters.len())
            .finish()
    }
}

/// A builder with defaults taken from the `OTEL_*` environment variables.
pub fn builder() -> Builder {
    Builder {
        cfg: Config::from_env(),
        exporters: Vec::new(),
        log_level: None,
        filter: None,
        log_bridge: cfg!(feature = "log"),
    }
}

impl Builder {
    /// `service.name` of everything exported (default: `OTEL_SERVICE_NAME`, else
    /// `unknown_service:<executable>`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.cfg.service_name = name.into();
        self
    }

    /// Adds a resource attribute (beside those of `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn resource_attribute(
        mut self,
        key: impl Into<std::borrow::Cow<'static, str>>,
        value: impl Into<crate::data::Value>,
    ) -> Self {
        self.cfg
            .resource_attributes
            .push(crate::data::KeyValue::new(key, value));
        self
    }

    /// Head sampling ratio of new traces, 0.0..=1.0 (default 1.0, or `OTEL_TRACES_SAMPLER`).
    /// Children follow their parent. Metrics are never sampled.
    pub fn sample_ratio(mut self, ratio: f64) -> Self {
        self.cfg.sample_ratio = ratio;
        self
    }

    /// Capacity of each thread's ring, in records (default 4096, or `OTEL_BSP_MAX_QUEUE_SIZE`;
    /// at most [`MAX_RING_CAPACITY`](crate::MAX_RING_CAPACITY), larger values are clamped
    /// with a warning).
    ///
    /// Memory for buffered records is bounded by the threads alive at once, whatever the
    /// thread-creation rate: a thread's ring goes back to a pool when the thread exits (the
    /// records it holds are still exported) and the next new thread reuses it; a new ring is
    /// made only while fewer than `2 x live threads + 4` exist, and empty pooled rings beyond
    /// that are released. With `R` the most threads alive at the same time that made a
    /// record:
    ///
    /// `ring memory <= (2 x R + 4) x capacity x 72 bytes`
    ///
    /// plus the captured strings of buffered records, each at most
    /// [`Builder::max_value_len`] bytes.
    pub fn ring_capacity(mut self, records: usize) -> Self {
        self.cfg.ring_capacity =
            limits::size(records, limits::MAX_RING_CAPACITY, "Builder::ring_capacity").max(2);
        self
    }

    /// Most records per export call (default 512, or `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`; at most
    /// [`MAX_BATCH`](crate::MAX_BATCH)).
    pub fn max_batch(mut self, records: usize) -> Self {
        self.cfg.max_batch = limits::size(records, limits::MAX_BATCH, "Builder::max_batch").max(1);
        self
    }

    /// How often buffered records are exported (default 1 s, or `OTEL_BSP_SCHEDULE_DELAY`; at
    /// most [`MAX_INTERVAL`](crate::MAX_INTERVAL)).
    pub fn export_interval(mut self, every: Duration) -> Self {
        self.cfg.export_interval =
            limits::duration(every, limits::MAX_INTERVAL, "Builder::export_interval");
        self
    }

    /// How often a metrics snapshot is exported (default 10 s, or
    /// `OTEL_METRIC_EXPORT_INTERVAL`; at most [`MAX_INTERVAL`](crate::MAX_INTERVAL)); one is
    /// also exported at every flush.
    pub fn metrics_interval(mut self, every: Duration) -> Self {
        self.cfg.metrics_interval =
            limits::duration(every, limits::MAX_INTERVAL, "Builder::metrics_interval");
        self
    }

    /// Deadline of the flush and shutdown done when the guard is dropped (default 5 s, or
    /// `OTEL_BSP_EXPORT_TIMEOUT`; at most [`MAX_TIMEOUT`](crate::MAX_TIMEOUT)).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.shutdown_timeout =
            limits::duration(timeout, limits::MAX_TIMEOUT, "Builder::shutdown_timeout");
        self
    }

    /// Longest string attribute or log body kept, in bytes (default 4096, or
    /// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`; at most [`MAX_VALUE_LEN`](crate::MAX_VALUE_LEN));
    /// longer values are cut at a character boundary and marked. The cut happens while the
    /// value is formatted: a 10 MB `Display` value costs what a `bytes`-long one costs.
    pub fn max_value_len(mut self, bytes: usize) -> Self {
        self.cfg.max_value_len =
            limits::size(bytes, limits::MAX_VALUE_LEN, "Builder::max_value_len").max(16);
        self
    }

    /// Sends telemetry to `exporter`. Call it several times to fan out: each exporter gets its
    /// own queue, retries, circuit breaker, worker thread and accounting, so one that fails
    /// or hangs never affects another. Without any call, the exporters selected by
    /// `OTEL_{TRACES,LOGS,METRICS}_EXPORTER` among the enabled cargo features are used (see
    /// the README, "Choosing exporters").
    pub fn exporter(self, exporter: impl Exporter) -> Self {
        self.exporter_filtered(exporter, SinkFilter::all())
    }

    /// Like [`Builder::exporter`], with a [`SinkFilter`]: the exporter only gets the signals and
    /// levels the filter takes (applied on the exporter thread).
    pub fn exporter_filtered(mut self, exporter: impl Exporter, filter: SinkFilter) -> Self {
        self.exporters
            .push((Source::Instance(Box::new(exporter)), filter));
        self
    }

    /// Most records each exporter's queue holds: what a hung or slow exporter can keep in
    /// memory. Past it, records are dropped for that exporter only, with reason
    /// `exporter_queue_full`. Default: 16384, or what all threads' rings hold together if that
    /// is more (so a healthy exporter is never refused a flush's worth of records); at most
    /// [`MAX_EXPORTER_QUEUE`](crate::MAX_EXPORTER_QUEUE).
    pub fn exporter_queue(mut self, records: usize) -> Self {
        self.cfg.exporter_queue = Some(
            limits::size(
                records,
                limits::MAX_EXPORTER_QUEUE,
                "Builder::exporter_queue",
            )
            .max(1),
        );
        self
    }

    /// Like [`Builder::exporter`], with a function that makes the exporter: a forked child
    /// calls it again to get its own (see "Fork" in the README).
    pub fn exporter_factory<E: Exporter>(
        self,
        make: impl Fn() -> E + Send + Sync + 'static,
    ) -> Self {
        self.exporter_factory_filtered(make, SinkFilter::all())
    }

    /// [`Builder::exporter_factory`] with a [`SinkFilter`].
    pub fn exporter_factory_filtered<E: Exporter>(
        mut self,
        make: impl Fn() -> E + Send + Sync + 'static,
        filter: SinkFilter,
    ) -> Self {
        self.exporters
            .push((Source::Factory(Arc::new(move || Box::new(make()))), filter));
        self
    }

    /// Lowest level recorded (spans, their metrics, and `log` records) when no filter is
    /// given: neither [`Builder::filter`] nor `INSTRUMENT_LOG` / `RUST_LOG` (default `Info`).
    pub fn log_level(mut self, level: crate::Level) -> Self {
        self.log_level = Some(level);
        self
    }

    /// The filter in force from install on (`RUST_LOG` syntax, see [`crate::Filter`]); it
    /// takes precedence over `INSTRUMENT_LOG`, then `RUST_LOG`, then [`Builder::log_level`].
    /// [`crate::set_filter`] changes it at run time.
    ///
    /// ```
    /// # use instrument_runtime::NoopExporter;
    /// let telemetry = instrument_runtime::builder()
    ///     .filter("info,my_app::db=debug,hyper=off".parse().unwrap())
    ///     .exporter(NoopExporter)
    ///     .install()
    ///     .unwrap();
    /// assert_eq!(
    ///     instrument_runtime::current_filter().to_string(),
    ///     "info,hyper=off,my_app::db=debug"
    /// );
    /// # drop(telemetry);
    /// ```
    pub fn filter(mut self, filter: crate::Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Whether to install the `log` bridge (default: on with the `log` feature).
    pub fn log_bridge(mut self, install: bool) -> Self {
        self.log_bridge = install;
        self
    }

    /// Starts the exporter thread and begins recording.
    pub fn install(self) -> Result<Telemetry, InitError> {
        if INSTALLED
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(InitError::AlreadyInstalled);
        }
        // Whatever happens in `start` (an error, or a panic in user code such as an
        // exporter's constructor), the flag is not left set by a failed install.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.start()))
            .unwrap_or(Err(InitError::Panicked));
        if result.is_err() {
            INSTALLED.store(false, Ordering::Release);
        }
        result
    }

    fn start(mut self) -> Result<Telemetry, InitError> {
        if self.cfg.disabled {
            INSTALLED.store(false, Ordering::Release);
            return Ok(Telemetry {
                active: false,
                shutdown_timeout: Duration::ZERO,
            });
        }
        // The filter first, so the log bridge installed by `launch` takes its max level.
        let filter = self
            .filter
            .take()
            .or_else(crate::filter::from_env)
            .unwrap_or_else(|| {
                crate::Filter::from_level(crate::LevelFilter::from_level(
                    self.log_level.unwrap_or(crate::Level::Info),
                ))
            });
        crate::set_filter(filter);
        let (exporters, recipe) = self.split();
        let telemetry = recipe.launch(exporters)?;
        *RECIPE.lock().unwrap_or_else(|p| p.into_inner()) = Some(recipe);
        crate::fork::register(ForkHooks {
            forget: forget_after_fork,
            restart: restart_after_fork,
        });
        Ok(telemetry)
    }

    /// The exporters to run now, and the recipe to make them again after a fork.
    fn split(self) -> (Vec<SinkSpec>, Recipe) {
        let from_env = self.exporters.is_empty();
        let factories: Option<Vec<(Factory, SinkFilter)>> = self
            .exporters
            .iter()
            .map(|(s, filter)| match s {
                Source::Factory(f) => Some((Arc::clone(f), *filter)),
                Source::Instance(_) => None,
            })
            .collect();
        let exporters = if from_env {
            // Selected from the environment now, and again (same rules) in a forked child.
            crate::export::feature_exporters()
        } else {
            self.exporters
                .into_iter()
                .map(|(s, filter)| match s {
                    Source::Instance(e) => (e, filter),
                    Source::Factory(f) => (f(), filter),
                })
                .collect()
        };
        let recipe = Recipe {
            cfg: self.cfg,
            factories,
            from_env,
            log_bridge: self.log_bridge,
        };
        (exporters, recipe)
    }
}

impl Recipe {
    /// Starts every exporter's worker, the exporter thread, and begins recording.
    fn launch(&self, exporters: Vec<SinkSpec>) -> Result<Telemetry, InitError> {
        crate::clock::calibrate();
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        switches::set_ring_capacity(self.cfg.ring_capacity);
        switches::set_max_value_len(self.cfg.max_value_len);
        let mut sinks = Vec::with_capacity(exporters.len());
        for (exporter, filter) in exporters {
            let sink = Sink::start(exporter, filter, self.cfg.exporter_queue_limit(0));
            let sink = match sink {
                Ok(sink) => sink,
                Err(e) => {
                    for s in &mut sinks {
                        Sink::request_shutdown(s);
                    }
                    return Err(InitError::Spawn(e));
                }
            };
            sinks.push(sink);
        }
        let collector = Collector::new(sinks, self.cfg.clone(), rx, Arc::clone(&shared));
        // Detached: shutdown waits for the thread's last answer, never for a join (a join
        // could hang on a stuck exporter, and cannot be done at all in a forked child).
        let join = std::thread::Builder::new()
            .name("instrument-exporter".into())
            .spawn(move || collector.run())
            .map_err(InitError::Spawn)?;
        let thread = join.thread().clone();
        registry::set_exporter_thread(Some(thread.clone()));
        CURRENT.store(Some(Arc::new(Handle { tx, thread, shared })));
        switches::set_active(true);
        SAMPLER.set_ratio(self.cfg.sample_ratio);
        self.install_log_bridge();
        Ok(Telemetry {
            active: true,
            shutdown_timeout: self.cfg.shutdown_timeout,
        })
    }

    #[cfg(feature = "log")]
    fn install_log_bridge(&self) {
        if !self.log_bridge {
            return;
        }
        if !crate::log_record::install_log_bridge() {
            config::warn_once(
                "another `log` logger is installed; log records will not carry trace ids (give that logger to `instrument_runtime::log_bridge::forward_to` instead of installing it)".into(),
            );
        }
    }

    #[cfg(not(feature = "log"))]
    fn install_log_bridge(&self) {}
}

/// Installs the pipeline with the defaults of the environment and the enabled features.
///
/// Never panics: if a pipeline is already running, or the exporter thread cannot start, the
/// problem is reported on stderr and an inactive guard is returned.
///
/// ```
/// let telemetry = instrument_runtime::init();
/// // ... the application ...
/// drop(telemetry); // bounded flush, then shutdown
/// ```
pub fn init() -> Telemetry {
    builder().install().unwrap_or_else(|e| {
        config::warn_once(format!("init failed: {e}"));
        Telemetry {
            active: false,
            shutdown_timeout: Duration::ZERO,
        }
    })
}

/// The running pipeline. Dropping it flushes and shuts down, within the configured deadline.
#[must_use = "dropping the guard shuts the pipeline down"]
#[derive(Debug)]
pub struct Telemetry {
    active: bool,
    shutdown_timeout: Duration,
}

impl Telemetry {
    /// `true` if this guard controls a running pipeline.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Exports everything buffered so far; returns within `timeout`, whatever the exporter
    /// does. See [`flush`].
    pub fn flush(&self, timeout: Duration) -> FlushReport {
        flush(timeout)
    }

    /// Accounting as of the exporter thread's last cycle.
    pub fn stats(&self) -> Stats {
        stats()
    }

    /// Replaces the exporter at run time. See [`set_exporter`].
    pub fn set_exporter(
        &self,
        exporter: impl Exporter,
        timeout: Duration,
    ) -> Result<(), SwapError> {
        set_exporter(exporter, timeout)
    }

    /// [`flush`](Telemetry::flush) for async code; see [`flush_async`].
    pub fn flush_async(&self, timeout: Duration) -> impl std::future::Future<Output = FlushReport> {
        flush_async(timeout)
    }

    /// [`shutdown`](Telemetry::shutdown) for async code: the wait happens on a helper thread,
    /// so no runtime thread is blocked. Same deadline as `shutdown`.
    pub fn shutdown_async(self) -> impl std::future::Future<Output = FlushReport> {
        let timeout = self.shutdown_timeout;
        self.shutdown_with_timeout_async(timeout)
    }

    /// [`shutdown_with_timeout`](Telemetry::shutdown_with_timeout) for async code.
    pub fn shutdown_with_timeout_async(
        mut self,
        timeout: Duration,
    ) -> impl std::future::Future<Output = FlushReport> {
        if !self.active || crate::local::is_exporter_thread() {
            return OffThread::ready(self.stop(timeout));
        }
        OffThread::spawn(move || self.stop(timeout), FlushReport::default())
    }

    /// Flushes and stops the pipeline with the configured deadline.
    pub fn shutdown(mut self) -> FlushReport {
        let timeout = self.shutdown_timeout;
        self.stop(timeout)
    }

    /// Flushes and stops the pipeline, returning within `timeout`.
    pub fn shutdown_with_timeout(mut self, timeout: Duration) -> FlushReport {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: Duration) -> FlushReport {
        if !std::mem::replace(&mut self.active, false) {
            return FlushReport::default();
        }
        switches::restart_if_pending();
        let started = Instant::now();
        // Stop sampling first: no new span records; logs from now on are counted as dropped
        // (after shutdown) once the exporter thread has taken its last look.
        SAMPLER.set_ratio(0.0);
        switches::set_active(false);
        let handle = CURRENT.swap(None);
        let report = match &handle {
            Some(h) if !crate::local::is_exporter_thread() => h
                .request(Command::Shutdown, timeout)
                .unwrap_or_else(|| FlushReport::timed_out(h.stats(), started.elapsed())),
            _ => FlushReport::timed_out(Stats::default(), started.elapsed()),
        };
        registry::set_exporter_thread(None);
        *RECIPE.lock().unwrap_or_else(|p| p.into_inner()) = None;
        // A timed-out exporter thread is detached; a new pipeline takes over every ring and
        // metric shard and counts what the detached thread still holds (buffer/registry.rs).
        INSTALLED.store(false, Ordering::Release);
        report
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        let timeout = self.shutdown_timeout;
        let report = self.stop(timeout);
        if self.shutdown_timeout > Duration::ZERO
            && !report.completed
            && report.elapsed > Duration::ZERO
        {
            config::warn_once(format!(
                "shutdown did not complete within {timeout:?}; {} records were not exported",
                report.in_flight
            ));
        }
    }
}

/// Exports everything buffered so far and asks the exporter to flush; returns within
/// `timeout` whatever the exporter does, from any thread or async context. On the exporter
/// thread itself (e.g. from inside an exporter) it returns at once, incomplete.
pub fn flush(timeout: Duration) -> FlushReport {
    switches::restart_if_pending();
    let started = Instant::now();
    let Some(handle) = CURRENT.load_full() else {
        // No pipeline: nothing buffered, nothing in flight; the flush trivially completed.
        return FlushReport {
            completed: true,
            ..FlushReport::default()
        };
    };
    if crate::local::is_exporter_thread() {
        return FlushReport::timed_out(handle.stats(), started.elapsed());
    }
    handle
        .request(Command::Flush, timeout)
        .unwrap_or_else(|| FlushReport::timed_out(handle.stats(), started.elapsed()))
}

/// [`flush`] for async code: the wait happens on a short-lived helper thread, so no thread of
/// the caller's runtime is blocked (other tasks keep running, even on a `current_thread` or
/// one-worker runtime). Resolves within `timeout`, like [`flush`]; needs no particular
/// runtime.
///
/// ```
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let report = instrument_runtime::flush_async(std::time::Duration::from_secs(1)).await;
/// assert!(report.completed); // no pipeline: trivially complete
/// # });
/// ```
pub fn flush_async(timeout: Duration) -> impl std::future::Future<Output = FlushReport> {
    if crate::local::is_exporter_thread() {
        let report = flush(timeout);
        return OffThread::ready(report);
    }
    OffThread::spawn(move || flush(timeout), FlushReport::default())
}

/// The answer of a blocking call made on a helper thread, as a future.
struct OffThread<T> {
    slot: Arc<std::sync::Mutex<(Option<T>, Option<std::task::Waker>)>>,
}

impl<T: Send + 'static> OffThread<T> {
    fn ready(value: T) -> OffThread<T> {
        OffThread {
            slot: Arc::new(std::sync::Mutex::new((Some(value), None))),
        }
    }

    /// Runs `f` on a helper thread; if no thread can be started, resolves to `fallback`.
    fn spawn(f: impl FnOnce() -> T + Send + 'static, fallback: T) -> OffThread<T> {
        let slot = Arc::new(std::sync::Mutex::new((None, None)));
        let theirs = Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("instrument-flush".into())
            .spawn(move || {
                let value = f();
                let waker = {
                    let mut g: std::sync::MutexGuard<'_, (Option<T>, Option<std::task::Waker>)> =
                        theirs.lock().unwrap_or_else(|p| p.into_inner());
                    g.0 = Some(value);
                    g.1.take()
                };
                if let Some(w) = waker {
                    w.wake();
                }
            });
        if let Err(e) = spawned {
            config::warn_once(format!("cannot start a thread for an async flush: {e}"));
            return OffThread::ready(fallback);
        }
        OffThread { slot }
    }
}

impl<T> std::future::Future for OffThread<T> {
    type Output = T;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<T> {
        let mut g = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match g.0.take() {
            Some(v) => std::task::Poll::Ready(v),
            None => {
                g.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        }
    }
}

/// Accounting as of the exporter thread's last cycle (all zeros when not running).
pub fn stats() -> Stats {
    switches::restart_if_pending();
    CURRENT.load_full().map(|h| h.stats()).unwrap_or_default()
}

/// Replaces every exporter of the pipeline with `exporter` at run time: buffered records go to
/// the old exporters, which are then flushed and shut down; later records go to the new one.
/// No record is lost or exported twice: an old exporter that does not finish within the
/// deadline has what it still holds counted dropped (`timeout`) in its figures, which stay in
/// [`Stats::exporters`] (inactive). Returns within `timeout`.
pub fn set_exporter(exporter: impl Exporter, timeout: Duration) -> Result<(), SwapError> {
    let handle = CURRENT.load_full().ok_or(SwapError::NotRunning)?;
    if crate::local::is_exporter_thread() {
        return Err(SwapError::TimedOut);
    }
    match handle.request(
        |reply, deadline| {
            let spec: SinkSpec = (Box::new(exporter), SinkFilter::all());
            Command::SetExporters(vec![spec], reply, deadline)
        },
        timeout,
    ) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(SwapError::OldExporter(e)),
        None => Err(SwapError::TimedOut),
    }
}

/// In a forked child (single-threaded, in the atfork handler): the exporter thread of the
/// running pipeline does not exist here. Forget it; `true` if a pipeline was running, so the
/// child should start its own.
pub(crate) fn forget_after_fork() -> bool {
    // Leak the parent's handle: its channel and thread belong to the parent.
    std::mem::forget(CURRENT.swap(None));
    INSTALLED.load(Ordering::Acquire)
}

/// Starts the forked child's own pipeline from the parent's recipe.
pub(crate) fn restart_after_fork() {
    let guard = match RECIPE.try_lock() {
        Ok(g) => g,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return stop_recording_in_child(),
    };
    let Some(recipe) = guard.as_ref() else {
        return stop_recording_in_child();
    };
    let Some(factories) = &recipe.factories else {
        config::warn_once(
            "forked child: an exporter given as an instance cannot be re-created, so this \
             process records nothing; use Builder::exporter_factory"
                .into(),
        );
        return stop_recording_in_child();
    };
    let exporters = if recipe.from_env {
        crate::export::feature_exporters()
    } else {
        factories.iter().map(|(f, filter)| (f(), *filter)).collect()
    };
    match recipe.launch(exporters) {
        // The parent's guard (copied into the child) shuts this pipeline down when dropped.
        Ok(telemetry) => std::mem::forget(telemetry),
        Err(e) => {
            config::warn_once(format!(
                "forked child: cannot start the exporter thread: {e}"
            ));
            stop_recording_in_child();
        }
    }
}

fn stop_recording_in_child() {
    SAMPLER.set_ratio(0.0);
    switches::set_active(false);
}
