//! [`Builder`]: configuration, exporters, and the recipe a forked child restarts from.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::after_fork::{forget_after_fork, restart_after_fork};
use super::recipe::{Factory, Recipe, RECIPE};
use super::running::Telemetry;
use super::{InitError, INSTALLED};
use crate::collector::thread::SinkSpec;
use crate::config::{self, Config};
use crate::export::{Exporter, SinkFilter};
use crate::limits;
use crate::switches::ForkHooks;

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

/// Where an exporter comes from.
enum Source {
    Instance(Box<dyn Exporter>),
    Factory(Factory),
}

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

    /// Capacity of each thread's ring, in records (default
    /// [`DEFAULT_RING_CAPACITY`](crate::DEFAULT_RING_CAPACITY) = 16384, or
    /// `OTEL_BSP_MAX_QUEUE_SIZE`; at most [`MAX_RING_CAPACITY`](crate::MAX_RING_CAPACITY),
    /// larger values are clamped with a warning).
    ///
    /// Sizing: the ring wakes the exporter thread when it passes half full, and admits
    /// info-level spans while it is at most 80% full, so no record is lost as long as the
    /// exporter thread is scheduled within `0.3 x capacity / rate` of the wake: with the
    /// default, 4.9 ms at 1 M sampled calls/s per thread (the former default, 4096, allowed
    /// 1.2 ms, and a loaded 2-core machine delivered 99.5% at 1 M/s). For a sustained rate
    /// `r` per thread and a scheduling delay `d` to ride out: `capacity >= r x d / 0.3`.
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

    /// Records every call's latency in base-2 exponential buckets too (default off, or
    /// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram`;
    /// `explicit_bucket_histogram` is the default, any other value is reported once and
    /// means the default). The OTLP exporter then sends `ExponentialHistogram` points instead
    /// of explicit ones; Prometheus and stdout keep the explicit buckets, which are still
    /// recorded. Recording is process-wide: once a pipeline turns it on it stays on for the
    /// process (a later pipeline without it still records, and its OTLP exporter sends them).
    /// Turn it on before the first instrumented call: calls before it are not in the
    /// exponential buckets. Costs `(336 + 1) x 8` bytes (2816 with alignment) per series per
    /// thread that calls it, allocated on its first call, on top of the explicit cell.
    pub fn exponential_histograms(mut self, on: bool) -> Self {
        self.cfg.exponential_histograms = on;
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

    /// How long one call into an exporter (`export`, `flush`, `poll`, a metrics snapshot) may
    /// run before that exporter counts as stuck (default 20 s, at most
    /// [`MAX_TIMEOUT`](crate::MAX_TIMEOUT), at least 1 ms). While it is stuck, records offered
    /// to it are dropped at once with reason `export_failed` instead of filling its queue,
    /// [`ExporterStats::stuck`](crate::ExporterStats::stuck) is `true`, the self-metric
    /// `instrument.exporter.stuck{exporter}` is 1, and one warning says so; other exporters are
    /// not affected. When the call returns, the exporter takes records again (one more warning).
    pub fn stuck_exporter_after(mut self, after: Duration) -> Self {
        self.cfg.stuck_after =
            limits::duration(after, limits::MAX_TIMEOUT, "Builder::stuck_exporter_after")
                .max(Duration::from_millis(1));
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
            return Ok(Telemetry::inactive());
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
        if self.cfg.exponential_histograms {
            crate::metrics::exponential::enable();
        }
        let (exporters, recipe) = self.split();
        recipe.launch(exporters)?;
        let telemetry = Telemetry::running(recipe.cfg.shutdown_timeout);
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
        Telemetry::inactive()
    })
}
