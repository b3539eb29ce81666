//! The pipeline's fork hooks (see `crate::fork`): forget the parent's exporter thread in the
//! child, then start the child's own pipeline from the parent's recipe.

use std::sync::atomic::Ordering;

use super::recipe::RECIPE;
use super::{CURRENT, INSTALLED};
use crate::config;
use crate::switches::{self, SAMPLER};

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
        Ok(()) => {}
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
