//! Compile-time instrumentation for Rust: spans, trace-correlated logs and low-cardinality
//! metrics from one attribute, exported by exactly one background thread.
//!
//! ```
//! use instrument_runtime::instrument;
//!
//! #[instrument(err)]
//! fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
//!     log::info!("parsing"); // carries trace_id and span_id
//!     input.parse()
//! }
//!
//! let telemetry = instrument_runtime::init(); // stdout exporter by default
//! let _ = parse("42");
//! drop(telemetry); // bounded flush, then shutdown
//! ```
//!
//! # How it works
//!
//! A call's data goes one way: from the application thread that made it, through that
//! thread's own ring, to the one exporter thread, and from there to the exporters. The source
//! files are layered the same way: each imports only from the layers above it in this list
//! (`python3 ../shared/tools/import_cycles.py instrument-runtime/src` holds it in CI).
//!
//! ```text
//!  app thread (hot path)                          exporter thread (one, "instrument-exporter")
//!  ---------------------                          --------------------------------------------
//!  #[instrument] expansion -> context/span.rs     collector/thread.rs: wakes on interval,
//!    open: local.rs (current span, new ids)         half-full ring or command (flush, swap,
//!    close: metrics/histogram.rs shard += 1         shutdown); drains every ring
//!           buffer/ring.rs push (if sampled)  ==>  collector/convert.rs: records -> data.rs
//!  log::info! -> log_record.rs -> ring             metrics/aggregate.rs: sums the shards
//!                                                  collector/breaker.rs: retry, circuit breaker
//!                                                  export/*: stdout, otlp, prometheus, testing
//! ```
//!
//! From the bottom layer to the top:
//! 1. **Leaves**: `clock.rs` (TSC ticks, wall-clock conversion), [`Level`], [`context::id`]
//!    (trace and span ids, the per-thread id generator), `diag.rs` (the one channel for the
//!    library's own warnings: deduplicated, capped, never panics), `filter/` ([`Filter`]:
//!    `RUST_LOG` directives, their matching, and the filter in force).
//! 2. **Switches**: `switches.rs`, every value the pipeline sets and the hot path reads
//!    (active flag, ring capacity, value length limit, head sampler, fork hooks), each
//!    atomic ordering explained there.
//! 3. **Data types**: `data.rs`, what exporters receive ([`export::SpanData`],
//!    [`export::LogData`], [`export::Metric`], [`export::Value`], ...), re-exported from
//!    [`export`].
//! 4. **Per-call parts**: [`SpanContext`] (`context/span_context.rs`), [`Callsite`] (static
//!    metadata, the one series-index codec, the cached filter verdict and [`set_filter`]), `attributes.rs` (truncation), [`Label`]
//!    (`labels/`), `buffer/` (`record.rs` the ring's record, `registry.rs` the rings the
//!    exporter drains, `ring.rs` the producer: admission by priority, half-full wake),
//!    `metrics/histogram.rs` (per-thread shards), `stats.rs` (exact accounting,
//!    [`FlushReport`]).
//! 5. **Thread-local state**: `local.rs`, everything an application thread owns in one
//!    thread-local (current span, ring, shards, re-entrancy depth).
//! 6. **Call API**: [`context`] (the current span, the span of one call, [`FutureExt`] for
//!    async), `log_record.rs` (the `log` bridge and the `err` record), [`propagation`]
//!    (`traceparent.rs`, `tracestate.rs`, `carriers.rs`).
//! 7. **Exporters**: [`export`], one module each behind its feature: `stdout`, `otlp`,
//!    `prometheus`, and [`testing`].
//! 8. **Exporter thread**: `collector/` (the loop, conversion, breaker, self-metrics) and
//!    `metrics/aggregate.rs`.
//! 9. **Pipeline**: `pipeline.rs` ([`Builder`], [`init`], [`Telemetry`], flush and shutdown
//!    with deadlines) and `fork.rs` (a forked child starts its own exporter thread; the
//!    restart reaches down through the hooks in `switches.rs`).
//!
//! The hot path (an unsampled call) is one relaxed load of the callsite's filter verdict, two
//! TSC reads, the thread's current span swapped (ids are drawn only if something reads them)
//! and one relaxed update of the thread's own histogram cell: no lock, no syscall, no
//! allocation, no cache line another thread writes. A call the filter disables is the load
//! and a branch. A full ring drops (never blocks), lowest severity first,
//! and every drop is counted ([`stats`]). The README has the configuration, the exporters'
//! options and the benchmarks.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[doc(hidden)]
pub mod __private;
mod attributes;
mod buffer;
mod callsite;
mod clock;
mod collector;
mod config;
pub mod context;
mod data;
mod diag;
pub mod export;
mod filter;
#[allow(unsafe_code, reason = "pthread_atfork: the one FFI call of the crate")]
mod fork;
mod labels;
mod level;
mod local;
mod log_record;
mod metrics;
mod pipeline;
pub mod propagation;
mod stats;
mod switches;

pub use instrument_macros::instrument;
/// Derives [`Label`](trait@Label) for a fieldless enum (see the trait for the rules).
pub use instrument_macros::Label;

pub use attributes::{FieldValue, TRUNCATION_MARKER};
pub use callsite::{current_filter, set_filter, Callsite, LabelDesc};
pub use context::current::{
    current_span_context, current_span_id, current_trace_id, SpanContext, FLAG_SAMPLED,
};
pub use context::future::{FutureExt, WithContext};
pub use context::id::{SpanId, TraceId};
pub use export::{testing, Batch, ExportError, ExportErrorKind, Exporter, NoopExporter};
pub use filter::{Filter, FilterError, LevelFilter, ENV_VARS as FILTER_ENV_VARS};
pub use labels::{ErrorLabel, Label, REDACTED};
pub use level::Level;
pub use metrics::aggregate::{CALLS_DURATION, CALLS_TOTAL};
pub use metrics::BOUNDS_SECONDS;
pub use pipeline::{
    builder, flush, init, set_exporter, stats, Builder, InitError, SwapError, Telemetry,
};
pub use stats::{DropReason, FlushReport, SignalStats, Stats};
