//! Fork safety (pre-fork servers fork after the runtime started).
//!
//! A forked child has only the thread that called `fork`: the exporter thread is gone, and the
//! child's memory holds copies of the parent's rings and metric shards. In the child, a
//! `pthread_atfork` handler (single-threaded, before any user code runs):
//! - forgets the parent's rings, shards and pending registrations, so the child never
//!   re-exports the parent's buffered records nor double counts its metrics (the child's
//!   counters start from zero);
//! - resets the drop counters and reseeds this thread's id generator, so the child never makes
//!   the parent's trace ids;
//! - marks a restart as pending: the child's first record, first metric shard, flush or
//!   `stats()` starts a fresh exporter thread with exporters re-created from the same recipe
//!   (the default feature exporters, or [`Builder::exporter_factory`](crate::Builder)). An
//!   exporter given as an instance cannot be re-created: the child then records nothing, and
//!   says so once on stderr.
//!
//! Like OpenTelemetry Python and Ruby, the child starts a new worker and never touches the
//! parent's queue. Limitation: a span that was open across the `fork` closes in both processes;
//! fork outside instrumented functions (as pre-fork servers do, from `main`).

use crate::switches::{self, ForkHooks};

// The crate denies `unsafe_code`; this module is allowed it for its one block (registering
// the `pthread_atfork` handler), which carries its SAFETY comment.

/// Installs the pipeline's `hooks` and registers the fork handler (once per process).
pub(crate) fn register(hooks: ForkHooks) {
    switches::install_fork_hooks(hooks);
    #[cfg(unix)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: `in_child` is a plain `extern "C" fn` with no captured state that lives for
            // the whole program; pthread_atfork only stores the pointer. A non-zero result
            // (ENOMEM) just means fork safety is unavailable, which we report.
            let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            if rc != 0 {
                crate::config::warn_once(format!(
                    "pthread_atfork failed ({rc}); forked children will not export"
                ));
            }
        });
    }
}

#[cfg(unix)]
extern "C" fn in_child() {
    // Unwinding out of an `extern "C"` fn aborts: never let a panic escape.
    let _ = std::panic::catch_unwind(|| {
        crate::local::forget_after_fork();
        crate::buffer::registry::forget_after_fork();
        crate::stats::reset_after_fork();
        crate::collector::thread::forget_after_fork();
        switches::forget_pipeline_after_fork();
    });
}
