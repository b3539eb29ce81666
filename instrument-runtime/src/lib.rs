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
//! thread's own ring, to the one exporter (drain) thread, and from there to each exporter's
//! own worker thread. The source
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
//!                                                  collector/sink.rs: one queue + worker thread
//!                                                    per exporter ("instrument-sink-<name>")
//!                                                  collector/breaker.rs: retry, circuit breaker
//!                                                  export/*: stdout, otlp, prometheus, testing
//! ```
//!
//! From the bottom layer to the top:
//! 1. **Leaves**: `clock.rs` (TSC ticks, wall-clock conversion), [`Level`], [`context::id`]
//!    (trace and span ids, the per-thread id generator), `diag.rs` (the one channel for the
//!    library's own warnings: deduplicated, capped, never panics), `limits.rs` (the maxima of
//!    every size and duration, and the clamp that warns), `filter/` ([`Filter`]:
//!    `RUST_LOG` directives, their matching, and the filter in force).
//! 2. **Switches**: `switches.rs`, every value the pipeline sets and the hot path reads
//!    (active flag, ring capacity, value length limit, head sampler, fork hooks), each
//!    atomic ordering explained there.
//! 3. **Data types**: `data.rs`, what exporters receive ([`export::SpanData`],
//!    [`export::LogData`], [`export::Metric`], [`export::Value`], ...), re-exported from
//!    [`export`].
//! 4. **Per-call parts**: [`SpanContext`] (`context/span_context.rs`), [`Callsite`] (static
//!    metadata, the one series-index codec, the cached filter verdict and [`set_filter`]), `attributes.rs` (capture bounded while
//!    formatting), [`Label`] (`labels/`), `buffer/` (`record.rs` the ring's record,
//!    `registry.rs` the rings the exporter drains: process-wide, pooled, drained under
//!    exporter generations; `ring.rs` the producer: admission by priority, half-full wake),
//!    `metrics/histogram.rs` (per-thread shards), `metrics/fallback.rs` (the shared shard of
//!    calls made during thread teardown), `stats.rs` (exact accounting, [`FlushReport`]).
//! 5. **Thread-local state**: `local.rs`, everything an application thread owns in one
//!    thread-local (current span, ring, shards, re-entrancy depth).
//! 6. **Call API**: [`context`] (the current span, the span of one call, [`FutureExt`] for
//!    async), `log_record.rs` (the `log` bridge and the `err` record), [`propagation`]
//!    (`traceparent.rs`, `tracestate.rs`, `carriers.rs`).
//! 7. **Exporters**: [`export`], one module each behind its feature: `stdout`, `otlp`,
//!    `prometheus`, and [`testing`].
//! 8. **Exporter thread**: `collector/` (the drain loop and the process-wide pipeline account
//!    in `thread.rs`, per-exporter delivery in `sink.rs`, conversion, breaker, self-metrics)
//!    and `metrics/aggregate.rs`.
//! 9. **Pipeline**: `pipeline/` ([`Builder`] and [`init`] in `builder.rs`, what starts it in
//!    `recipe.rs`, [`Telemetry`], flush and shutdown with deadlines in `running.rs`, the fork
//!    hooks in `after_fork.rs`) and `fork.rs` (a forked child starts its own exporter thread; the
//!    restart reaches down through the hooks in `switches.rs`).
//!
//! # Bounds under faults
//!
//! What the design guarantees, whatever the application does (each is tested from the outside
//! in its own process: `tests/tests/faults_*.rs`):
//! - **Thread churn.** A thread's ring goes back to a pool when the thread exits (records it
//!   holds are still exported) and is reused by the next new thread; a new ring is made only
//!   while fewer than `2 x live threads + 4` exist, and empty pooled rings beyond that are
//!   released (`buffer/registry.rs`). With `R` the most threads alive at once that made a
//!   record: ring memory `<= (2 x R + 4) x ring_capacity x 72 bytes`, whatever the
//!   thread-creation rate. A hung exporter does not stop the drain: it holds at most its own
//!   queue ([`Builder::exporter_queue`]) plus the batch it hangs in, and records beyond it
//!   are dropped for it alone (`exporter_queue_full`).
//! - **Thread teardown.** A call that ends after its thread's thread-local is gone (inside
//!   another thread-local's destructor) is counted in a shared lock-free fallback shard
//!   (`metrics/fallback.rs`): call counts and latency histograms stay exact.
//! - **Huge values.** Fields, `err` messages and log bodies are formatted into a writer that
//!   stops at [`Builder::max_value_len`] (`attributes.rs`): a buffered record holds at most
//!   that many bytes per value, and a 10 MB value costs what the limit costs.
//! - **Re-init after a hang.** Rings and metric shards are process-wide, not owned by one
//!   exporter thread. A new pipeline drains every live thread's ring and sums every shard,
//!   and keeps the earlier pipelines' exporters' figures (inactive, in [`Stats::exporters`]),
//!   so totals are process-wide. A hung exporter abandoned at its pipeline's shutdown deadline
//!   has what it held counted `timeout`; if that pipeline's exporter thread did not even
//!   answer, what it and each of its exporters still hold is counted
//!   ([`DropReason::ShutdownTimeout`], per exporter) when the new pipeline takes over, and
//!   nothing those threads do later changes a count.
//! - **Absurd configuration.** Every size and duration has a documented maximum
//!   ([`MAX_RING_CAPACITY`], [`MAX_BATCH`], [`MAX_VALUE_LEN`], [`MAX_INTERVAL`],
//!   [`MAX_TIMEOUT`]); larger values, from the environment or the builder, are clamped with one
//!   warning (`limits.rs`).
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
#[allow(
    unsafe_code,
    reason = "pthread_atfork: one of the two FFI calls of the crate"
)]
mod fork;
mod labels;
mod level;
mod limits;
mod local;
mod log_record;
/// The `log` bridge (feature `log`): installed by `init()`; [`log_bridge::forward_to`]
/// composes it with a logger you already have.
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub mod log_bridge {
    pub use crate::log_record::{forward_to, install};
}
mod metrics;
mod pipeline;
pub mod propagation;
mod resource;
mod stats;
mod switches;
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub mod tracing_bridge;

pub use instrument_macros::instrument;
/// Derives [`Label`](trait@Label) for a fieldless enum (see the trait for the rules).
pub use instrument_macros::Label;

pub use attributes::{FieldValue, TRUNCATION_MARKER};
pub use callsite::{current_filter, set_filter, Callsite, LabelDesc};
pub use context::current::{
    current_span_context, current_span_id, current_trace_id, SpanContext, FLAG_SAMPLED,
};
pub use context::future::{FutureExt, WithContext};
pub use context::handle::{current_span, debug, display, CurrentSpan, DebugValue, DisplayValue};
pub use context::id::{SpanId, TraceId};
pub use context::manual::{span, EnteredSpan, Instrumented, ManualSpan, SpanBuilder};
pub use data::{SpanKind, SpanStatus};
pub use export::{
    testing, Batch, ExportError, ExportErrorKind, Exporter, Held, NoopExporter, SignalKind,
    SinkFilter,
};
pub use filter::{Filter, FilterError, LevelFilter, ENV_VARS as FILTER_ENV_VARS};
pub use labels::{ErrorLabel, Label, REDACTED};
pub use level::Level;
pub use limits::{
    DEFAULT_RING_CAPACITY, MAX_BATCH, MAX_EXPORTER_QUEUE, MAX_INTERVAL, MAX_RING_CAPACITY,
    MAX_TIMEOUT, MAX_VALUE_LEN,
};
pub use metrics::aggregate::{CALLS_DURATION, CALLS_TOTAL};
pub use metrics::{
    exponential_bucket_index, Buckets, BOUNDS_SECONDS, DEFAULT_BUCKETS, EXPONENTIAL_MAX_SIZE,
    EXPONENTIAL_SCALE, MAX_BUCKET_BOUNDS,
};
pub use pipeline::{
    builder, flush, flush_async, init, set_exporter, stats, Builder, InitError, SwapError,
    Telemetry,
};
pub use stats::{DropReason, ExporterStats, FlushReport, SignalStats, Stats};
