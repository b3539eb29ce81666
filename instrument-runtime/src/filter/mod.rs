//! Level filtering: which spans (with their metrics) and log records are recorded, by target
//! and level, in `RUST_LOG`'s directive syntax ([`Filter`]).
//!
//! The filter in force is read from `INSTRUMENT_LOG`, else `RUST_LOG`, else it is `info`;
//! [`Builder::filter`](crate::Builder::filter) replaces it at install, and
//! [`set_filter`](crate::set_filter) at any time. Every `#[instrument]` callsite caches its
//! own verdict (see [`crate::Callsite`]): a disabled function costs one relaxed load and a
//! branch, and records nothing at all: no span, no log record for `err`, and no metric
//! sample (its `calls_total` does not count calls made while it is disabled). A log record is
//! checked when it is made (by level alone when the filter has no per-target directive).
//!
//! This file holds the filter in force; `directive.rs` the syntax and the matching; the
//! per-callsite cache and its rebuild on change are in `callsite.rs`.

pub(crate) mod directive;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Once, OnceLock};

use arc_swap::ArcSwap;

pub use directive::{Filter, FilterError, LevelFilter};

use crate::Level;

/// The environment variables read, in order.
pub const ENV_VARS: [&str; 2] = ["INSTRUMENT_LOG", "RUST_LOG"];

/// The filter when neither variable is set (and the builder sets none).
pub(crate) const DEFAULT_LEVEL: LevelFilter = LevelFilter::Info;

static CURRENT: LazyLock<ArcSwap<Filter>> = LazyLock::new(|| {
    ArcSwap::from_pointee(from_env().unwrap_or(Filter::from_level(DEFAULT_LEVEL)))
});

/// `true` when the filter in force has no per-target directive: a log record is then decided
/// by [`MAX_LEVEL`] alone, without loading the filter.
static LEVEL_ONLY: AtomicBool = AtomicBool::new(false);
/// The most verbose level the filter in force lets through (a `LevelFilter` as `u8`);
/// `u8::MAX` until the filter is first loaded.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(u8::MAX);

/// The filter of the environment (`INSTRUMENT_LOG`, else `RUST_LOG`), if one is set and not
/// blank. Invalid directives are skipped, each reported once through the diagnostics channel.
pub(crate) fn from_env() -> Option<Filter> {
    for var in ENV_VARS {
        let Ok(spec) = std::env::var(var) else {
            continue;
        };
        if spec.trim().is_empty() {
            continue;
        }
        let (filter, errors) = Filter::parse_lenient(&spec);
        for e in errors {
            crate::diag::warn(format!("{var}: {e}; directive skipped"));
        }
        return Some(filter);
    }
    None
}

/// The filter in force.
pub(crate) fn current() -> Arc<Filter> {
    CURRENT.load_full()
}

/// The first publication of the fast-path values (by whichever comes first: a log record or
/// a filter change), so a lazy first publication never overwrites a later change.
static PUBLISHED: Once = Once::new();

/// Makes `filter` the one in force (callers serialise changes and rebuild the callsites'
/// cache after it).
pub(crate) fn store(filter: Filter) {
    PUBLISHED.call_once(|| {});
    publish(&filter);
    CURRENT.store(Arc::new(filter));
}

fn publish(filter: &Filter) {
    let max = filter.max_level();
    // Relaxed: standalone values; a log record racing with a filter change may be decided by
    // the previous filter, which is harmless.
    MAX_LEVEL.store(max as u8, Ordering::Relaxed);
    LEVEL_ONLY.store(filter.is_level_only(), Ordering::Relaxed);
    if let Some(hook) = ON_CHANGE.get() {
        hook(max);
    }
}

/// Told the most verbose level of every filter put in force (the `log` bridge keeps `log`'s
/// max level in step through it); installed from above, so this module stays a leaf.
static ON_CHANGE: OnceLock<fn(LevelFilter)> = OnceLock::new();

/// Installs the change hook (the first call wins).
#[cfg_attr(not(feature = "log"), allow(dead_code))]
pub(crate) fn on_change(hook: fn(LevelFilter)) {
    let _ = ON_CHANGE.set(hook);
}

/// `true` if a log record of `target` at `level` is recorded now.
#[cfg_attr(not(feature = "log"), allow(dead_code))]
#[inline]
pub(crate) fn log_enabled(target: &str, level: Level) -> bool {
    // Relaxed: see `store`.
    let max = MAX_LEVEL.load(Ordering::Relaxed);
    if max == u8::MAX {
        // Not published yet: publish the filter in force (from the environment).
        PUBLISHED.call_once(|| publish(&current()));
        return current().enabled(target, level);
    }
    if (max + level as u8) < 5 {
        return false; // below every directive
    }
    LEVEL_ONLY.load(Ordering::Relaxed) || current().enabled(target, level)
}
