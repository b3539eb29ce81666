//! Log records: the `log` crate bridge (feature `log`) and the ERROR record `err` emits.
//!
//! A record is formatted on the calling thread, with the current span's ids captured there and
//! then, and pushed into that thread's ring like a span. No lock or `RefCell` borrow is held
//! while the message is formatted, so a `Debug` impl that logs, or calls an instrumented
//! function, nests instead of deadlocking; nesting is bounded (deeper records are dropped and
//! counted as re-entrant). Records made on the exporter thread are never fed back.

use crate::buffer::record::Signal;
use crate::buffer::record::{LogRecordRaw, Priority, Record};
use crate::callsite::Callsite;
use crate::clock::Instant;
use crate::context::current::SpanContext;
use crate::local::{self, Making};
use crate::stats;
use crate::Level;

/// Emits the ERROR record of a failed call made with `err`.
pub(crate) fn emit_error(callsite: &'static Callsite, ctx: SpanContext, message: &str) {
    let Some(making) = Making::begin() else {
        return;
    };
    if let Err(reason) = making {
        stats::count_drop(Signal::Log, reason, 1);
        return;
    }
    let origin = Origin {
        target: callsite.target.to_owned(),
        module_path: Some(callsite.module_path),
        file: Some(callsite.file),
        line: Some(callsite.line),
    };
    let record = log_record(
        Instant::now(),
        Level::Error,
        message.to_owned(),
        ctx,
        origin,
    );
    local::push(record, Priority::High);
}

/// Where a log record comes from.
struct Origin {
    target: String,
    module_path: Option<&'static str>,
    file: Option<&'static str>,
    line: Option<u32>,
}

/// The one place a log record is built: `body` as given, the ids of `ctx`.
fn log_record(at: Instant, level: Level, body: String, ctx: SpanContext, origin: Origin) -> Record {
    Record::Log(Box::new(LogRecordRaw {
        at,
        level,
        target: origin.target,
        body,
        trace_id: ctx.trace_id.to_u128(),
        span_id: ctx.span_id.to_u64(),
        flags: ctx.trace_flags,
        module_path: origin.module_path,
        file: origin.file,
        line: origin.line,
    }))
}

#[cfg(feature = "log")]
pub(crate) use bridge::install as install_log_bridge;

#[cfg(feature = "log")]
mod bridge {
    use super::*;
    use crate::attributes::truncate;
    use std::fmt::Write as _;

    /// The `log::Log` implementation installed by `init()`.
    struct Bridge;

    static BRIDGE: Bridge = Bridge;

    /// Installs the bridge as the `log` logger; `log`'s max level follows the filter in force
    /// (its most verbose directive; the rest is decided per record by target). Returns
    /// `false` (and changes nothing) if another logger was installed first.
    pub(crate) fn install() -> bool {
        let ours = match log::set_logger(&BRIDGE) {
            Ok(()) => true,
            // Our own bridge from an earlier install.
            Err(_) => std::ptr::addr_eq(log::logger(), &BRIDGE),
        };
        if ours {
            crate::filter::on_change(set_log_max_level);
            set_log_max_level(crate::filter::current().max_level());
        }
        ours
    }

    /// Sets `log`'s max level to `max`, if the bridge is the `log` logger.
    fn set_log_max_level(max: crate::filter::LevelFilter) {
        use crate::filter::LevelFilter as F;
        if !std::ptr::addr_eq(log::logger(), &BRIDGE) {
            return; // another logger owns `log`'s max level
        }
        log::set_max_level(match max {
            F::Off => log::LevelFilter::Off,
            F::Error => log::LevelFilter::Error,
            F::Warn => log::LevelFilter::Warn,
            F::Info => log::LevelFilter::Info,
            F::Debug => log::LevelFilter::Debug,
            F::Trace => log::LevelFilter::Trace,
        });
    }

    impl log::Log for Bridge {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.level() <= log::max_level()
                && crate::filter::log_enabled(metadata.target(), Level::from(metadata.level()))
        }

        fn log(&self, record: &log::Record<'_>) {
            if !self.enabled(record.metadata()) {
                return;
            }
            let Some(making) = Making::begin() else {
                return; // exporter thread: the pipeline's own records are not fed back
            };
            let _making = match making {
                Ok(m) => m,
                Err(reason) => return stats::count_drop(Signal::Log, reason, 1),
            };
            let ctx = local::current();
            let at = Instant::now();
            // User Display/Debug impls run here, with nothing borrowed or locked.
            let mut body = String::new();
            let _ = write!(body, "{}", record.args());
            let level = Level::from(record.level());
            let origin = Origin {
                target: record.target().to_owned(),
                module_path: record.module_path_static(),
                file: record.file_static(),
                line: record.line(),
            };
            let raw = log_record(at, level, truncate(body), ctx, origin);
            local::push(raw, Priority::of(level, false));
        }

        fn flush(&self) {}
    }
}
