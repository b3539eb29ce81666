//! The recipe of the running pipeline: what starts it, and what a forked child starts its own
//! pipeline from.

use std::sync::mpsc;
use std::sync::Arc;

use super::{Handle, InitError, CURRENT};
use crate::buffer::registry;
use crate::collector::sink::Sink;
use crate::collector::thread::{Collector, Shared, SinkSpec};
use crate::config::Config;
use crate::export::{Exporter, SinkFilter};
use crate::switches::{self, SAMPLER};

/// Makes an exporter; kept so a forked child can make its own.
pub(super) type Factory = Arc<dyn Fn() -> Box<dyn Exporter> + Send + Sync>;

/// What a forked child needs to start its own pipeline.
pub(super) struct Recipe {
    pub(super) cfg: Config,
    /// `None` when an exporter was given as an instance (it cannot be re-created).
    pub(super) factories: Option<Vec<(Factory, SinkFilter)>>,
    /// No exporter was given: select them from the environment (`factories` is empty).
    pub(super) from_env: bool,
    // Without the `log` feature there is no bridge to install in the child, so this is kept
    // but never read.
    #[cfg_attr(not(feature = "log"), allow(dead_code))]
    pub(super) log_bridge: bool,
}

/// The recipe of the running pipeline (written on install, read after a fork).
pub(super) static RECIPE: std::sync::Mutex<Option<Recipe>> = std::sync::Mutex::new(None);

impl Recipe {
    /// Starts every exporter's worker, the exporter thread, and begins recording.
    pub(super) fn launch(&self, exporters: Vec<SinkSpec>) -> Result<(), InitError> {
        crate::clock::calibrate();
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        switches::set_ring_capacity(self.cfg.ring_capacity);
        switches::set_max_value_len(self.cfg.max_value_len);
        let mut sinks = Vec::with_capacity(exporters.len());
        for (exporter, filter) in exporters {
            let sink = Sink::start(
                exporter,
                filter,
                self.cfg.exporter_queue_limit(0),
                self.cfg.stuck_after,
            );
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
        Ok(())
    }

    #[cfg(feature = "log")]
    fn install_log_bridge(&self) {
        if !self.log_bridge {
            return;
        }
        if !crate::log_record::install_log_bridge() {
            crate::config::warn_once(
                "another `log` logger is installed; log records will not carry trace ids (give that logger to `instrument_runtime::log_bridge::forward_to` instead of installing it)".into(),
            );
        }
    }

    #[cfg(not(feature = "log"))]
    fn install_log_bridge(&self) {}
}
