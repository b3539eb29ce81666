//! Prometheus exporter (feature `prometheus`): a pull endpoint serving the text exposition
//! format 0.0.4, and [`render`] for mounting the exposition in your own server.
//!
//! The exporter keeps the latest [`MetricsSnapshot`] the pipeline hands it (at the metrics
//! interval, at every flush, and when a scrape asks) and ignores spans and logs. A scrape
//! renders on the endpoint's own thread, `instrument-prometheus`: it never touches an
//! application thread. In a pipeline, a scrape first asks the exporter thread for a fresh
//! snapshot (a flag and a wake-up, see [`Exporter::metrics_demand`]) and waits for it at most
//! [`FRESH_WAIT`], so it serves the counts as of the scrape, not of the last interval; the
//! pipeline's other exporters keep their interval.
//!
//! ```no_run
//! use instrument_runtime::export::prometheus::PrometheusExporter;
//!
//! // Address from `INSTRUMENT_PROMETHEUS_ADDR`, else 127.0.0.1:9464.
//! let exporter = PrometheusExporter::builder().build()?;
//! println!("scrape http://{}/metrics", exporter.local_addr().unwrap());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! In your own axum or hyper server, build it without an endpoint and serve
//! [`PrometheusHandle::render`] with the [`CONTENT_TYPE`] header:
//!
//! ```
//! use instrument_runtime::export::prometheus::PrometheusExporter;
//!
//! let exporter = PrometheusExporter::new();
//! let handle = exporter.handle(); // Clone + Send + Sync: put it in your router's state
//! assert_eq!(handle.render(), ""); // nothing exported yet
//! ```
//!
//! # Names
//!
//! Prometheus 2.x accepts only legacy names, so OpenTelemetry names are translated as the
//! OpenTelemetry Prometheus compatibility spec says where that is simple:
//! - metric names: every character outside `[a-zA-Z0-9]` becomes `_` (dots, dashes, and colons,
//!   which are reserved for recording rules), runs of `_` become one, leading and trailing `_`
//!   are dropped, a leading digit gets a `_` prefix;
//! - the unit becomes a suffix unless the name already has it: `s` -> `_seconds`, `ms` ->
//!   `_milliseconds`, `By` -> `_bytes`, `By/s` -> `_bytes_per_second`, `1` -> `_ratio` (gauges
//!   only), annotations like `{call}` -> nothing, other units are sanitized and appended;
//! - counters end with `_total` (moved after the unit if the name had it):
//!   `otel.sdk.processor.span.processed` -> `otel_sdk_processor_span_processed_total`;
//! - label names: every character outside `[a-zA-Z0-9_]` becomes `_` (`error.type` ->
//!   `error_type`), a leading digit gets `key_`, a leading `__` gets `key`, and `le` on a
//!   histogram becomes `key_le`. Labels that collide after translation are merged, values
//!   joined with `;`.
//!
//! # Configuration
//!
//! `INSTRUMENT_PROMETHEUS_ADDR` (`host:port`, an IP address or `localhost`) sets the address
//! when the builder was given none; default `127.0.0.1:9464`. An invalid value is reported
//! once on stderr and the default is used. `INSTRUMENT_PROMETHEUS_MULTIPROC_DIR` turns on the
//! multiprocess mode below when the builder was given no directory.
//!
//! # Pre-fork servers (multiprocess mode)
//!
//! A pre-fork server's parent and workers are served as **one** scrape when the exporter is
//! built with [`PrometheusBuilder::multiprocess_dir`] (or [`MULTIPROC_DIR_ENV`]). Build it in
//! the parent before forking, through [`Builder::exporter_factory`](crate::Builder) (or the
//! exporters selected from the environment), so each forked worker re-creates its own from
//! the recipe:
//!
//! ```no_run
//! use instrument_runtime::export::prometheus::PrometheusExporter;
//!
//! let telemetry = instrument_runtime::builder()
//!     .exporter_factory(|| {
//!         PrometheusExporter::builder()
//!             .addr(([0, 0, 0, 0], 9464))
//!             .multiprocess_dir("/run/myserver/metrics")
//!             .build()
//!             .expect("prometheus endpoint")
//!     })
//!     .install()?;
//! // ... fork the workers; each one calls `instrument_runtime::flush` before it exits.
//! # Ok::<(), instrument_runtime::InitError>(())
//! ```
//!
//! The first process that builds the exporter with the directory is the **aggregator**: it
//! serves the endpoint and listens on the unix socket `<dir>/prometheus.sock` ([`SOCKET_NAME`]).
//! A process that builds one later and finds that socket alive (a forked worker) is a
//! **reporter** ([`PrometheusExporter::multiprocess_role`]): it opens no port and sends its
//! cumulative snapshots to the aggregator; its build returns once the aggregator has admitted
//! it (at most 2 s), so it is part of every scrape after that. The contract:
//!
//! - **Exact**: each process sends its own cumulative totals (a forked child's counters start
//!   at zero: the fork handler forgets the parent's); the aggregator keeps each process's latest
//!   snapshot and sums them with its own, so every call is counted once. Counters are summed
//!   exactly, histograms bucket by bucket (`_count`, `_sum` and every `le` are the sums of the
//!   processes'), gauges over the live processes. A series only some processes have is summed
//!   over those; once any process had it, it stays in the scrape.
//! - **Fresh**: a scrape sends a demand to every reporter at once and asks its own pipeline;
//!   each reporter asks its pipeline for a snapshot (as a single-process scrape does) and
//!   answers within 150 ms; the scrape waits for all answers together at most [`FRESH_WAIT`],
//!   then serves the latest snapshot of each process. Measured (debug build, 4-5 workers):
//!   2-4 ms per scrape; with a worker stopped by SIGSTOP, 252 ms, its last counts served.
//! - **A worker that exits keeps its counts**: when its connection ends, its last snapshot's
//!   counters and histograms move to the retired totals (its gauges go), so nothing the
//!   scraper saw ever decreases (Prometheus `resets()` stays 0). A worker's last calls are
//!   sent when it flushes ([`crate::flush`]) or shuts its pipeline down before it exits; one
//!   that exits without either loses what it did since its last report, as with SIGKILL.
//! - **SIGKILL**: nothing runs in the killed worker; the aggregator keeps the last snapshot
//!   it received. Lost: the calls made after the worker's last report. A worker reports at
//!   every scrape, flush and `metrics_interval`, and every
//!   [`report_interval`](PrometheusBuilder::report_interval) (default 1 s, one snapshot of
//!   its own a second), so a kill loses at most the calls of its last report interval, never
//!   anything a scrape already showed.
//! - **New workers** add their own series from their first report (the workers' counts start
//!   at zero, so no call is counted twice). A process has one connection however many
//!   exporters it builds with the directory (a pipeline swap in a worker shares it), so its
//!   totals are never counted twice either.
//! - **The process is a label only if asked**: by default all processes are one series;
//!   [`PrometheusBuilder::process_label`] labels each process's series with its pid, exited
//!   processes keeping theirs (at most [`MAX_EXITED_PROCESSES`]; older ones are summed into
//!   `pid="exited"`).
//! - **Bounds**: memory in the aggregator is one snapshot per live reporter (at most
//!   [`MAX_REPORTERS`] connections, one thread each) plus the retired totals, whose size is
//!   the number of distinct series (not of processes; with a process label, at most
//!   [`MAX_EXITED_PROCESSES`] processes' series). Frames are at most 64 MiB. On disk: one
//!   socket file, nothing else, nothing that grows.
//! - **Who may report**: any process that can connect to the socket; the directory's
//!   permissions decide that (the directory is created if missing, with the umask's mode),
//!   so keep it private to the server's user, as with any unix socket.
//! - **A stale directory** from a previous run needs no cleanup: a socket file nobody
//!   listens on (the old aggregator was killed) is detected by a refused connection and
//!   replaced; an aggregator that stops removes its socket.
//! - The aggregator must outlive its workers (the pre-fork parent does): when it goes, the
//!   workers' metrics are no longer served (each says so once). Two unrelated processes
//!   starting the same directory at the same instant may both try to aggregate; one then
//!   fails to bind the endpoint with a clear error. Unix only (`Unsupported` elsewhere). The
//!   endpoint's `target_info` is the aggregator's resource. A write to a process that just
//!   died fails with `EPIPE`, which relies on `SIGPIPE` being ignored, as Rust's runtime
//!   sets it before `main` (a program that restores the default must not).
//!
//! Why a socket to the parent, not per-process files (Python `prometheus_client`'s
//! multiprocess mode) or shared memory: our calls are counted in thread-local cells that no
//! other process can read, so a file or a shared-memory page could only hold what a worker
//! last wrote there, a snapshot of its last interval; exact counts at scrape time would need
//! every call to write shared memory (a cross-process atomic per call, and `unsafe` mmap
//! layouts) instead of its own thread's cache line. Files also accumulate one per pid ever
//! started (the directory must be wiped between runs), and a reader cannot tell a dead
//! worker's file from a live one's. Over the socket the aggregator asks each worker for its
//! counts as of the scrape, sees an exit as the end of the connection, and keeps the exited
//! worker's totals in memory, bounded by the number of series.

#[cfg(unix)]
mod merge;
#[cfg(unix)]
mod multiprocess;
mod names;
mod render;
mod server;
#[cfg(unix)]
mod wire;

#[cfg(unix)]
#[cfg(unix)]
pub use merge::MAX_EXITED_PROCESSES;
#[cfg(unix)]
pub use multiprocess::{DEFAULT_REPORT_INTERVAL, MAX_REPORTERS, MIN_REPORT_INTERVAL, SOCKET_NAME};

pub use render::{render, render_openmetrics};

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use self::server::Server;
use crate::export::{
    Batch, ExportError, Exporter, GaugePoint, Metric, MetricData, MetricsSnapshot, Resource,
};

/// The environment variable naming the endpoint's address.
pub const ADDR_ENV: &str = "INSTRUMENT_PROMETHEUS_ADDR";
/// The environment variable naming the multiprocess directory (see the [module
/// docs](self#pre-fork-servers-multiprocess-mode)) when the builder was given none.
pub const MULTIPROC_DIR_ENV: &str = "INSTRUMENT_PROMETHEUS_MULTIPROC_DIR";
/// The address used when neither the builder nor [`ADDR_ENV`] gives one.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);
/// How long a scrape waits for a fresh snapshot (see [`PrometheusHandle::set_refresh`]) before
/// it serves the latest one it has.
pub const FRESH_WAIT: Duration = Duration::from_millis(250);
/// The `Content-Type` of the OpenMetrics 1.0 text format, served when a scrape's `Accept`
/// asks for `application/openmetrics-text` (Prometheus does by default).
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The `Content-Type` of the text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Keeps the latest metrics snapshot for Prometheus to scrape; see the [module docs](self).
///
/// Dropping it (or [`Exporter::shutdown`]) stops the endpoint and frees the port within a
/// fraction of a second; [handles](PrometheusHandle) keep rendering the last snapshot.
pub struct PrometheusExporter {
    handle: PrometheusHandle,
    /// The endpoint, when one was started; `None` after shutdown.
    server: Option<Server>,
    /// In a multiprocess group as a reporter: sends this process's snapshots (with this
    /// exporter's member id in it).
    #[cfg(unix)]
    reporter: Option<(Arc<multiprocess::Reporter>, u64)>,
}

/// What a [`PrometheusExporter`] is in a multiprocess group (see the [module
/// docs](self#pre-fork-servers-multiprocess-mode)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MultiprocessRole {
    /// It serves the endpoint: its scrapes sum every process of the group.
    Aggregator,
    /// It opens no port and reports its process's metrics to the aggregator.
    Reporter,
}

impl PrometheusExporter {
    /// An exporter without an endpoint: mount [`handle`](Self::handle) in your own server.
    #[must_use]
    pub fn new() -> Self {
        PrometheusExporter {
            handle: PrometheusHandle::default(),
            server: None,
            #[cfg(unix)]
            reporter: None,
        }
    }

    /// A builder for an exporter that serves `GET /metrics` itself.
    #[must_use]
    pub fn builder() -> PrometheusBuilder {
        PrometheusBuilder::default()
    }

    /// An exporter serving `GET /metrics` on `addr` (port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr)).
    ///
    /// # Errors
    ///
    /// When the address cannot be bound (taken, not local, no permission) or the thread
    /// cannot be started; the message names the address.
    pub fn serve(addr: impl Into<SocketAddr>) -> io::Result<Self> {
        let handle = PrometheusHandle::default();
        let server = Server::start(addr.into(), handle.clone())?;
        Ok(PrometheusExporter {
            handle,
            server: Some(server),
            #[cfg(unix)]
            reporter: None,
        })
    }

    /// Joins the multiprocess group of `opts.dir`: as its aggregator (serving `addr`) or as
    /// a reporter (no port).
    #[cfg(unix)]
    fn serve_multiprocess(addr: SocketAddr, opts: &multiprocess::Options) -> io::Result<Self> {
        let mut handle = PrometheusHandle::default();
        match multiprocess::join(opts, &handle)? {
            multiprocess::Role::Reporter(reporter, member) => Ok(PrometheusExporter {
                handle,
                server: None,
                reporter: Some((reporter, member)),
            }),
            multiprocess::Role::Aggregator(aggregator) => {
                handle.group = Some(Arc::clone(&aggregator));
                match Server::start(addr, handle.clone()) {
                    Ok(server) => Ok(PrometheusExporter {
                        handle,
                        server: Some(server),
                        reporter: None,
                    }),
                    Err(e) => {
                        aggregator.release();
                        Err(e)
                    }
                }
            }
        }
    }

    /// Its role in a multiprocess group; `None` when it was built without a multiprocess
    /// directory.
    #[must_use]
    pub fn multiprocess_role(&self) -> Option<MultiprocessRole> {
        #[cfg(unix)]
        {
            if self.reporter.is_some() {
                return Some(MultiprocessRole::Reporter);
            }
            if self.handle.group.is_some() {
                return Some(MultiprocessRole::Aggregator);
            }
        }
        None
    }

    /// Leaves the multiprocess group, if in one: a reporter sends its last snapshot first.
    fn leave_group(&mut self) {
        #[cfg(unix)]
        {
            if let Some((reporter, member)) = self.reporter.take() {
                reporter.leave(member);
            }
            if let Some(group) = self.handle.group.as_ref() {
                if !self
                    .handle
                    .left
                    .swap(true, std::sync::atomic::Ordering::AcqRel)
                {
                    group.release();
                }
            }
        }
    }

    /// A handle that renders the latest snapshot, from any thread.
    #[must_use]
    pub fn handle(&self) -> PrometheusHandle {
        self.handle.clone()
    }

    /// The address the endpoint listens on; `None` without an endpoint or after shutdown.
    #[must_use]
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(Server::local_addr)
    }
}

impl Default for PrometheusExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PrometheusExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusExporter")
            .field("local_addr", &self.local_addr())
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl Exporter for PrometheusExporter {
    fn name(&self) -> &'static str {
        "prometheus"
    }

    /// Spans are not for Prometheus: they never become exemplars through this exporter.
    fn exports_spans(&self) -> bool {
        false
    }

    /// Keeps the batch's metrics snapshot, if it has one, and its resource (rendered as
    /// `target_info`); spans and logs are not for Prometheus.
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        if let Some(resource) = &batch.resource {
            let known = self.handle.resource.load();
            if known.as_deref().is_none_or(|k| **k != **resource) {
                self.handle
                    .resource
                    .store(Some(Arc::new(Arc::clone(resource))));
            }
        }
        if let Some(snapshot) = &batch.metrics {
            self.handle.store(snapshot.clone());
            // A reporter sends it on at once (so a scrape waiting for it, or a SIGKILL right
            // after, finds it at the aggregator).
            #[cfg(unix)]
            if let Some((reporter, _)) = &self.reporter {
                reporter.send();
            }
        }
        Ok(())
    }

    /// Scrapes (the endpoint, [`PrometheusHandle::render_fresh`]) ask the pipeline for a
    /// fresh snapshot through `request` (see [`PrometheusHandle::set_refresh`]).
    fn metrics_demand(&mut self, request: crate::export::MetricsDemand) {
        self.handle.set_refresh(request);
    }

    /// Stops the endpoint (bounded: every wait on its thread is short). In a multiprocess
    /// group, a reporter sends its last snapshot and leaves (bounded by a 1 s write
    /// timeout); the aggregator stops taking reporters once its last exporter is shut down.
    fn shutdown(&mut self) -> Result<(), ExportError> {
        self.server = None;
        self.leave_group();
        Ok(())
    }
}

impl Drop for PrometheusExporter {
    fn drop(&mut self) {
        self.server = None;
        self.leave_group();
    }
}

/// Asks whoever feeds the exporter (the pipeline's exporter thread) for a snapshot now; it
/// answers by exporting one. Must not block.
pub type Refresh = Arc<dyn Fn() + Send + Sync>;

/// Renders the latest snapshot of a [`PrometheusExporter`]; cheap to clone, usable from any
/// thread, e.g. as the state of an axum `/metrics` route.
#[derive(Clone, Default)]
pub struct PrometheusHandle {
    /// Written by the exporter thread, read by scrapes; a scrape never blocks the writer.
    latest: Arc<ArcSwapOption<MetricsSnapshot>>,
    /// Snapshots stored so far, for scrapes waiting for a fresh one.
    stored: Arc<(Mutex<u64>, Condvar)>,
    /// How to ask for a fresh snapshot, once the pipeline has said.
    refresh: Arc<ArcSwapOption<Refresh>>,
    /// The pipeline's resource, rendered as `target_info`.
    resource: Arc<ArcSwapOption<Arc<Resource>>>,
    /// In a multiprocess group, as its aggregator: renders the sum of every process.
    #[cfg(unix)]
    group: Option<Arc<multiprocess::Aggregator>>,
    /// This handle's exporter left the group (released once).
    #[cfg(unix)]
    left: Arc<std::sync::atomic::AtomicBool>,
}

impl PrometheusHandle {
    /// Sets how a scrape asks for a fresh snapshot. The pipeline calls this when it installs
    /// the exporter, with a function that wakes the exporter thread to export metrics now;
    /// then [`render_fresh`](Self::render_fresh) (and the endpoint) serve the counts as of
    /// the scrape instead of the last interval's.
    pub fn set_refresh(&self, refresh: Refresh) {
        self.refresh.store(Some(Arc::new(refresh)));
    }

    /// The exposition as of now: asks for a fresh snapshot and waits for it at most `wait`,
    /// then renders the latest one (the fresh one, or the last one when none came in time or
    /// no [`set_refresh`](Self::set_refresh) was made).
    ///
    /// In a multiprocess group (as its aggregator), every process is asked at once and the
    /// wait for all of their answers together is at most `wait`.
    #[must_use]
    pub fn render_fresh(&self, wait: Duration) -> String {
        self.wait_fresh_all(wait);
        self.render()
    }

    /// Like [`render`](Self::render) in the OpenMetrics 1.0 text format, ending with
    /// `# EOF`. Serve it with the [`OPENMETRICS_CONTENT_TYPE`] header.
    #[must_use]
    pub fn render_openmetrics(&self) -> String {
        let mut text = String::new();
        if let Some(snapshot) = self.snapshot() {
            text = render_openmetrics(&snapshot);
            if let Some(resource) = self.resource.load_full() {
                text.push_str(&render_openmetrics(&target_info(&resource)));
            }
        }
        text.push_str("# EOF\n");
        text
    }

    /// [`render_fresh`](Self::render_fresh) in the OpenMetrics format.
    #[must_use]
    pub fn render_openmetrics_fresh(&self, wait: Duration) -> String {
        self.wait_fresh_all(wait);
        self.render_openmetrics()
    }

    /// [`wait_fresh`](Self::wait_fresh), and in a multiprocess group the other processes'
    /// fresh snapshots too, all within `wait`.
    fn wait_fresh_all(&self, wait: Duration) {
        #[cfg(unix)]
        if let Some(group) = &self.group {
            group.refresh_all(Instant::now() + wait, || self.wait_fresh(wait));
            return;
        }
        self.wait_fresh(wait);
    }

    fn wait_fresh(&self, wait: Duration) {
        if let Some(refresh) = self.refresh.load_full() {
            let (lock, changed) = &*self.stored;
            let seen = *lock.lock().unwrap_or_else(|p| p.into_inner());
            refresh();
            let deadline = Instant::now() + wait;
            let mut stored = lock.lock().unwrap_or_else(|p| p.into_inner());
            while *stored == seen {
                let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                    break;
                };
                stored = match changed.wait_timeout(stored, left) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
        }
    }

    /// The exposition of the latest snapshot ([`render`]); empty before the first one.
    /// With a resource (the pipeline's), it is also rendered, as the OpenTelemetry Prometheus
    /// compatibility spec says, as `target_info{service_name="..",...} 1`. Serve it with the
    /// [`CONTENT_TYPE`] header.
    #[must_use]
    pub fn render(&self) -> String {
        let Some(snapshot) = self.snapshot() else {
            return String::new();
        };
        let mut text = render(&snapshot);
        if let Some(resource) = self.resource.load_full() {
            text.push_str(&render(&target_info(&resource)));
        }
        text
    }

    /// The latest snapshot, if any has been exported: what [`render`](Self::render)
    /// renders. In a multiprocess group (as its aggregator), the sum of every process's
    /// latest snapshot and of the exited processes' counters and histograms.
    #[must_use]
    pub fn snapshot(&self) -> Option<Arc<MetricsSnapshot>> {
        // `load_full`, not `load`: rendering is too long to hold an arc-swap guard.
        let own = self.latest.load_full();
        #[cfg(unix)]
        if let Some(group) = &self.group {
            return group.merged(own.as_deref()).map(Arc::new);
        }
        own
    }

    fn store(&self, snapshot: MetricsSnapshot) {
        self.latest.store(Some(Arc::new(snapshot)));
        let (lock, changed) = &*self.stored;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        changed.notify_all();
    }
}

/// `target_info`: one gauge point, value 1, labelled with the resource's attributes.
fn target_info(resource: &Resource) -> MetricsSnapshot {
    use std::borrow::Cow;
    let mut labels = vec![(
        Cow::Borrowed("service.name"),
        Cow::Owned(resource.service_name.clone()),
    )];
    for kv in &resource.attributes {
        if kv.key != "service.name" {
            labels.push((kv.key.clone(), Cow::Owned(kv.value.to_string())));
        }
    }
    MetricsSnapshot {
        metrics: vec![Metric {
            name: "target_info".into(),
            description: "Target metadata".into(),
            unit: "".into(),
            data: MetricData::Gauge(vec![GaugePoint { labels, value: 1.0 }]),
        }],
        ..MetricsSnapshot::default()
    }
}

impl fmt::Debug for PrometheusHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let has_snapshot = self.latest.load().is_some();
        f.debug_struct("PrometheusHandle")
            .field("has_snapshot", &has_snapshot)
            .finish()
    }
}

/// Configures a [`PrometheusExporter`] that serves its own endpoint.
#[derive(Clone, Debug, Default)]
pub struct PrometheusBuilder {
    addr: Option<SocketAddr>,
    multiprocess_dir: Option<std::path::PathBuf>,
    process_label: Option<String>,
    report_interval: Option<Duration>,
}

impl PrometheusBuilder {
    /// Listens on `addr` instead of [`ADDR_ENV`] or [`DEFAULT_ADDR`].
    #[must_use]
    pub fn addr(mut self, addr: impl Into<SocketAddr>) -> Self {
        self.addr = Some(addr.into());
        self
    }

    /// Serves the processes of a pre-fork server as one scrape (Unix only; see the [module
    /// docs](self#pre-fork-servers-multiprocess-mode)): the first process that builds an
    /// exporter with `dir` serves the endpoint and sums every process; the others (forked
    /// workers re-creating their exporters, see
    /// [`Builder::exporter_factory`](crate::Builder::exporter_factory)) open no port and
    /// report to it. Without it, [`MULTIPROC_DIR_ENV`] names the directory, if set.
    #[must_use]
    pub fn multiprocess_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.multiprocess_dir = Some(dir.into());
        self
    }

    /// In multiprocess mode, labels every series with the process it comes from
    /// (`name="<pid>"`); by default every process is summed into one series. An exited
    /// process keeps its series (its counts stay, nothing resets), at most
    /// [`MAX_EXITED_PROCESSES`] of them; older ones are summed into `name="exited"`.
    #[must_use]
    pub fn process_label(mut self, name: impl Into<String>) -> Self {
        self.process_label = Some(name.into());
        self
    }

    /// In multiprocess mode, how often a reporting process sends its counts unasked
    /// (default [`DEFAULT_REPORT_INTERVAL`], at least `MIN_REPORT_INTERVAL`, 10 ms): what a
    /// worker killed with SIGKILL loses is at most the calls of its last interval.
    #[must_use]
    pub fn report_interval(mut self, every: Duration) -> Self {
        self.report_interval = Some(every);
        self
    }

    /// Binds the address and starts the endpoint's thread; in multiprocess mode, joins the
    /// group instead when another process already serves it.
    ///
    /// # Errors
    ///
    /// As [`PrometheusExporter::serve`]: a bind failure is an error naming the address, never
    /// a panic. In multiprocess mode also when the directory cannot be made or its socket
    /// cannot be bound or reached (the message names the directory), and on non-Unix
    /// platforms (`Unsupported`).
    pub fn build(self) -> io::Result<PrometheusExporter> {
        let addr = self.addr.unwrap_or_else(addr_from_env);
        let dir = self.multiprocess_dir.clone().or_else(|| {
            std::env::var_os(MULTIPROC_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(Into::into)
        });
        let Some(dir) = dir else {
            return PrometheusExporter::serve(addr);
        };
        #[cfg(unix)]
        {
            let opts = multiprocess::Options {
                dir,
                process_label: self.process_label,
                report_interval: self.report_interval.unwrap_or(DEFAULT_REPORT_INTERVAL),
            };
            PrometheusExporter::serve_multiprocess(addr, &opts)
        }
        #[cfg(not(unix))]
        {
            let _ = (dir, self.process_label, self.report_interval);
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "prometheus multiprocess mode needs unix sockets (Unix only)",
            ))
        }
    }
}

fn addr_from_env() -> SocketAddr {
    let value = std::env::var_os(ADDR_ENV).unwrap_or_default();
    let value = value.to_string_lossy();
    resolve_addr(&value).unwrap_or_else(|| {
        warn_invalid_addr(&value);
        DEFAULT_ADDR
    })
}

/// The address an env value names: empty means the default; `None` when it is invalid.
fn resolve_addr(value: &str) -> Option<SocketAddr> {
    let value = value.trim();
    if value.is_empty() {
        return Some(DEFAULT_ADDR);
    }
    if let Ok(addr) = value.parse() {
        return Some(addr);
    }
    let port = value.strip_prefix("localhost:")?.parse::<u16>().ok()?;
    Some(SocketAddr::new(DEFAULT_ADDR.ip(), port))
}

fn warn_invalid_addr(value: &str) {
    crate::diag::warn(format!(
        "{ADDR_ENV}={value:?} is not an address like 127.0.0.1:9464; using {DEFAULT_ADDR}"
    ));
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::export::{CounterPoint, Metric, MetricData};

    fn snapshot_with_counter(value: u64) -> MetricsSnapshot {
        let point = CounterPoint {
            labels: vec![(Cow::Borrowed("result"), Cow::Borrowed("ok"))],
            value,
        };
        MetricsSnapshot {
            metrics: vec![Metric {
                name: "function_calls_total".into(),
                description: "Calls.".into(),
                unit: "{call}".into(),
                data: MetricData::Counter(vec![point]),
            }],
            ..MetricsSnapshot::default()
        }
    }

    fn batch(metrics: Option<MetricsSnapshot>) -> Batch {
        Batch {
            metrics,
            ..Batch::default()
        }
    }

    #[test]
    fn keeps_the_latest_snapshot_and_ignores_batches_without_one() {
        let mut exporter = PrometheusExporter::new();
        let handle = exporter.handle();
        assert_eq!(handle.render(), "");
        exporter
            .export(&batch(Some(snapshot_with_counter(1))))
            .unwrap();
        exporter
            .export(&batch(Some(snapshot_with_counter(5))))
            .unwrap();
        exporter.export(&batch(None)).unwrap();
        let text = handle.render();
        assert!(
            text.ends_with("function_calls_total{result=\"ok\"} 5\n"),
            "{text}"
        );
        assert_eq!(exporter.name(), "prometheus");
    }

    #[test]
    fn a_scrape_asks_for_a_fresh_snapshot_and_waits_bounded() {
        let handle = PrometheusHandle::default();
        handle.store(snapshot_with_counter(1));
        // No refresh set: the latest snapshot, at once.
        assert!(handle.render_fresh(Duration::from_secs(5)).contains(" 1\n"));
        // A pipeline answering from another thread: the scrape sees its snapshot.
        let answering = handle.clone();
        handle.set_refresh(Arc::new(move || {
            let h = answering.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                h.store(snapshot_with_counter(2));
            });
        }));
        assert!(handle.render_fresh(Duration::from_secs(5)).contains(" 2\n"));
        // A pipeline that never answers: the last snapshot after the bounded wait.
        handle.set_refresh(Arc::new(|| {}));
        let started = Instant::now();
        assert!(handle
            .render_fresh(Duration::from_millis(100))
            .contains(" 2\n"));
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(90) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
    }

    #[test]
    fn the_resource_is_rendered_as_target_info() {
        let mut exporter = PrometheusExporter::new();
        let mut with_resource = batch(Some(snapshot_with_counter(3)));
        with_resource.resource = Some(Arc::new(Resource {
            service_name: "shop".into(),
            attributes: vec![crate::export::KeyValue::new(
                "deployment.environment",
                "prod",
            )],
        }));
        exporter.export(&with_resource).unwrap();
        let text = exporter.handle().render();
        assert!(text.contains("# TYPE target_info gauge\n"), "{text}");
        assert!(
            text.contains("target_info{deployment_environment=\"prod\",service_name=\"shop\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn shutdown_stops_the_endpoint_but_not_the_handle() {
        let mut exporter = PrometheusExporter::serve(([127, 0, 0, 1], 0)).unwrap();
        let addr = exporter.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        exporter
            .export(&batch(Some(snapshot_with_counter(2))))
            .unwrap();
        exporter.shutdown().unwrap();
        assert_eq!(exporter.local_addr(), None);
        assert!(std::net::TcpStream::connect(addr).is_err());
        assert!(exporter.handle().render().contains("} 2\n"));
    }

    #[test]
    fn builder_address_wins() {
        let exporter = PrometheusExporter::builder()
            .addr(([127, 0, 0, 1], 0))
            .build()
            .unwrap();
        assert_eq!(exporter.local_addr().unwrap().ip(), DEFAULT_ADDR.ip());
    }

    #[test]
    fn env_addresses() {
        assert_eq!(resolve_addr(""), Some(DEFAULT_ADDR));
        assert_eq!(
            resolve_addr(" 0.0.0.0:9000 "),
            Some(([0, 0, 0, 0], 9000).into())
        );
        assert_eq!(resolve_addr("[::1]:80"), "[::1]:80".parse().ok());
        assert_eq!(
            resolve_addr("localhost:81"),
            Some(([127, 0, 0, 1], 81).into())
        );
        assert_eq!(resolve_addr("localhost"), None);
        assert_eq!(resolve_addr("9464"), None);
        assert_eq!(resolve_addr("127.0.0.1:99999"), None);
    }
}
