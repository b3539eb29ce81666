//! Log records: the `log` crate bridge (feature `log`) and the ERROR record `err` emits.
//!
//! A record is formatted on the calling thread, with the current span's ids captured there and
//! then, and pushed into that thread's ring like a span. No lock or `RefCell` borrow is held
//! while the message is formatted, so a `Debug` impl that logs, or calls an instrumented
//! function, nests instead of deadlocking; nesting is bounded (deeper records are dropped and
//! counted as re-entrant). Records made on the exporter thread are never fed back.

use crate::buffer::inline::{self, Encoder, Meta as InlineMeta, StaticOrigin};
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
    emit_at(callsite, ctx, Level::Error, message);
}

/// Emits a record at `level` from `callsite` with `ctx`'s ids (`err(level = ..)`); an error
/// record is admitted by its level (errors and warnings last to be dropped).
pub(crate) fn emit_at(callsite: &'static Callsite, ctx: SpanContext, level: Level, message: &str) {
    let Some(making) = Making::begin() else {
        return;
    };
    if let Err(reason) = making {
        stats::count_drop(Signal::Log, reason, 1);
        return;
    }
    let meta = InlineMeta {
        at: Instant::now(),
        level,
        ctx,
        origin: StaticOrigin::Callsite(callsite),
    };
    let priority = Priority::of(level, false);
    let pushed = inline::with_scratch(|encoder| {
        encoder.body_str(message);
        local::push_log(encoder, meta, priority);
    });
    if pushed.is_none() {
        // The thread's scratch is in use (a record made while another is encoded): one of
        // its own.
        let mut encoder = Encoder::new();
        encoder.begin();
        encoder.body_str(message);
        local::push_log(&encoder, meta, priority);
    }
}

/// Where a log record comes from.
#[cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]
pub(crate) struct Origin {
    pub(crate) target: std::borrow::Cow<'static, str>,
    pub(crate) module_path: Option<&'static str>,
    pub(crate) file: Option<&'static str>,
    pub(crate) line: Option<u32>,
}

/// The one place a boxed log record is built: `body` as given, the ids of `ctx`, with
/// structured attributes (inline records: [`crate::buffer::inline`]).
#[cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]
pub(crate) fn log_record_with(
    at: Instant,
    level: Level,
    body: String,
    ctx: SpanContext,
    origin: Origin,
    attributes: Vec<crate::data::KeyValue>,
) -> Record {
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
        attributes,
    }))
}

#[cfg(feature = "log")]
pub(crate) use bridge::install as install_log_bridge;
#[cfg(feature = "log")]
pub use bridge::{forward_to, install};

#[cfg(feature = "log")]
mod bridge {
    use super::*;
    use crate::attributes::{bounded_args, bounded_str};
    use crate::data::{KeyValue, Value};
    use std::borrow::Cow;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;

    /// The `log::Log` implementation installed by `init()`.
    struct Bridge;

    static BRIDGE: Bridge = Bridge;

    /// The level the forwarded logger wants (`Off` when there is none).
    static FORWARD_LEVEL: AtomicUsize = AtomicUsize::new(log::LevelFilter::Off as usize);
    /// The user's logger, which every record is forwarded to (enriched with our ids).
    static FORWARD: OnceLock<Box<dyn log::Log>> = OnceLock::new();

    fn log_level(v: usize) -> log::LevelFilter {
        match v {
            0 => log::LevelFilter::Off,
            1 => log::LevelFilter::Error,
            2 => log::LevelFilter::Warn,
            3 => log::LevelFilter::Info,
            4 => log::LevelFilter::Debug,
            _ => log::LevelFilter::Trace,
        }
    }

    /// The most verbose level the filter in force captures, as `log`'s.
    fn captured_max(max: crate::filter::LevelFilter) -> log::LevelFilter {
        use crate::filter::LevelFilter as F;
        match max {
            F::Off => log::LevelFilter::Off,
            F::Error => log::LevelFilter::Error,
            F::Warn => log::LevelFilter::Warn,
            F::Info => log::LevelFilter::Info,
            F::Debug => log::LevelFilter::Debug,
            F::Trace => log::LevelFilter::Trace,
        }
    }

    /// `log`'s max level: the more verbose of the filter in force (its most verbose
    /// directive; the rest is decided per record by target) and the forwarded logger's level.
    /// Called at install and by every filter change.
    fn update_max_level(ours: crate::filter::LevelFilter) {
        if !std::ptr::addr_eq(log::logger(), &BRIDGE) {
            return; // another logger owns `log`'s max level
        }
        // Relaxed: a standalone value, set once by `forward_to`.
        let theirs = log_level(FORWARD_LEVEL.load(Ordering::Relaxed));
        log::set_max_level(captured_max(ours).max(theirs));
    }

    /// Installs the bridge as the `log` logger (what `init()` does with the `log` feature;
    /// call it yourself after `.log_bridge(false)`). Records are captured as the filter in
    /// force says (see [`set_filter`](crate::set_filter)). Returns `false`, and changes
    /// nothing, if another logger was installed first: give that logger to [`forward_to`]
    /// instead of installing it, and the bridge forwards every record to it.
    pub fn install() -> bool {
        let installed = match log::set_logger(&BRIDGE) {
            Ok(()) => true,
            // Our own bridge from an earlier install.
            Err(_) => std::ptr::addr_eq(log::logger(), &BRIDGE),
        };
        if installed {
            crate::filter::on_change(update_max_level);
            update_max_level(crate::filter::current().max_level());
        }
        installed
    }

    /// `true` if the filter in force captures this record.
    fn captured(metadata: &log::Metadata<'_>) -> bool {
        crate::filter::log_enabled(metadata.target(), Level::from(metadata.level()))
    }

    /// Composes the bridge with a logger you already have (env_logger, a file logger, ...):
    /// every `log` record is captured by the bridge (with the current trace and span ids) and
    /// then passed on to `logger`, its key-values extended with `trace_id` and `span_id` when
    /// a span is current. `level` is the most verbose level `logger` wants (for env_logger,
    /// its `filter()`); `log::max_level` becomes the more verbose of that and the bridge's.
    ///
    /// Call it before or after `init()`, instead of installing `logger` with
    /// `log::set_logger`. Only the first call sets the logger; later calls return `false`.
    ///
    /// ```
    /// struct Stderr;
    /// impl log::Log for Stderr {
    ///     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
    ///     fn log(&self, r: &log::Record<'_>) { let _ = r; /* print it */ }
    ///     fn flush(&self) {}
    /// }
    /// assert!(instrument_runtime::log_bridge::forward_to(Stderr, log::LevelFilter::Debug));
    /// ```
    pub fn forward_to(logger: impl log::Log + 'static, level: log::LevelFilter) -> bool {
        if FORWARD.set(Box::new(logger)).is_err() {
            return false;
        }
        // Relaxed: a standalone value (see `update_max_level`).
        FORWARD_LEVEL.store(level as usize, Ordering::Relaxed);
        if !std::ptr::addr_eq(log::logger(), &BRIDGE) && log::set_logger(&BRIDGE).is_err() {
            crate::diag::warn(
                "log_bridge::forward_to: another `log` logger is installed; records are not \
                 captured or forwarded",
            );
        }
        crate::filter::on_change(update_max_level);
        update_max_level(crate::filter::current().max_level());
        true
    }

    /// `log`'s key-values as attributes.
    struct Kv(Vec<KeyValue>);

    impl<'kvs> log::kv::VisitSource<'kvs> for Kv {
        fn visit_pair(
            &mut self,
            key: log::kv::Key<'kvs>,
            value: log::kv::Value<'kvs>,
        ) -> Result<(), log::kv::Error> {
            if self.0.len() >= crate::buffer::record::MAX_SPAN_ATTRIBUTES {
                return Ok(());
            }
            let value = if let Some(b) = value.to_bool() {
                Value::Bool(b)
            } else if let Some(i) = value.to_i64() {
                Value::I64(i)
            } else if let Some(f) = value.to_f64().filter(|_| value.to_u64().is_none()) {
                Value::F64(f)
            } else if let Some(s) = value.to_borrowed_str() {
                Value::Str(Cow::Owned(bounded_str(s)))
            } else {
                crate::attributes::display(&value)
            };
            self.0.push(KeyValue {
                key: Cow::Owned(key.as_str().to_owned()),
                value,
            });
            Ok(())
        }
    }

    /// The record's own key-values followed by our ids.
    struct WithIds<'a> {
        inner: &'a dyn log::kv::Source,
        trace_id: String,
        span_id: String,
    }

    impl log::kv::Source for WithIds<'_> {
        fn visit<'kvs>(
            &'kvs self,
            visitor: &mut dyn log::kv::VisitSource<'kvs>,
        ) -> Result<(), log::kv::Error> {
            self.inner.visit(visitor)?;
            visitor.visit_pair(
                "trace_id".into(),
                log::kv::Value::from(self.trace_id.as_str()),
            )?;
            visitor.visit_pair(
                "span_id".into(),
                log::kv::Value::from(self.span_id.as_str()),
            )
        }
    }

    fn forward(record: &log::Record<'_>, ctx: SpanContext) {
        let Some(inner) = FORWARD.get() else {
            return;
        };
        if !inner.enabled(record.metadata()) {
            return;
        }
        if !ctx.is_valid() {
            return inner.log(record);
        }
        let kvs = WithIds {
            inner: record.key_values(),
            trace_id: ctx.trace_id.to_string(),
            span_id: ctx.span_id.to_string(),
        };
        inner.log(
            &log::Record::builder()
                .args(*record.args())
                .metadata(record.metadata().clone())
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .key_values(&kvs)
                .build(),
        );
    }

    impl log::Log for Bridge {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            captured(metadata) || FORWARD.get().is_some_and(|f| f.enabled(metadata))
        }

        fn log(&self, record: &log::Record<'_>) {
            let ctx = local::current();
            if captured(record.metadata()) {
                capture(record, ctx);
            }
            forward(record, ctx);
        }

        fn flush(&self) {
            if let Some(f) = FORWARD.get() {
                f.flush();
            }
        }
    }

    fn capture(record: &log::Record<'_>, ctx: SpanContext) {
        let Some(making) = Making::begin() else {
            return; // exporter thread: the pipeline's own records are not fed back
        };
        let _making = match making {
            Ok(m) => m,
            Err(reason) => return stats::count_drop(Signal::Log, reason, 1),
        };
        let at = Instant::now();
        // User Display/Debug impls run here, with nothing borrowed or locked; the body is
        // cut at the configured maximum while it is formatted.
        let body = bounded_args(*record.args());
        let mut kv = Kv(Vec::new());
        let _ = record.key_values().visit(&mut kv);
        let level = Level::from(record.level());
        let origin = Origin {
            target: match record.target() {
                t if record.module_path_static() == Some(t) => {
                    Cow::Borrowed(record.module_path_static().unwrap_or_default())
                }
                t => Cow::Owned(t.to_owned()),
            },
            module_path: record.module_path_static(),
            file: record.file_static(),
            line: record.line(),
        };
        let raw = log_record_with(at, level, body, ctx, origin, kv.0);
        local::push(raw, Priority::of(level, false));
    }
}
