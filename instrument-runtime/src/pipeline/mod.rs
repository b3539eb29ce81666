//! Installing the pipeline, and the guard that flushes and shuts it down.
//!
//! Every wait an application thread does here has a deadline: the answer comes back over a
//! channel read with `recv_timeout`, so a hung exporter, a blocked runtime or a deadlock in an
//! exporter can only make a flush report "timed out", never hang the caller. The exporter
//! thread owns everything it needs, so calling these from inside any async runtime (including
//! a `current_thread` one) cannot deadlock.

//!
//! - `builder.rs`: [`builder`], [`Builder`] and [`init`];
//! - `recipe.rs`: what starts the pipeline, kept so a forked child can start its own;
//! - `running.rs`: the [`Telemetry`] guard, [`flush`], [`stats`], [`set_exporter`];
//! - `after_fork.rs`: the pipeline's fork hooks (forget the parent's, start the child's).

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use crate::collector::thread::{Command, Shared};
use crate::export::ExportError;
use crate::stats::Stats;

mod after_fork;
mod builder;
mod recipe;
mod running;

pub use builder::{builder, init, Builder};
pub use running::{flush, flush_async, set_exporter, stats, Telemetry};

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
