//! Compile-time instrumentation for Rust: spans, trace-correlated logs and low-cardinality
//! metrics from one attribute, exported by exactly one background thread.
//!
//! (The full user guide is in the README; this page is the API reference.)
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
//! # Where things are
//! - the hot path: [`context`] (span open/close, current context) and the per-thread ring
//!   and metric shards (`local.rs`, `buffer/`, `metrics/histogram.rs`);
//! - the exporter thread: `collector/thread.rs`;
//! - exporters: [`export`], one file each.
#![warn(missing_docs)]
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
pub use callsite::{Callsite, LabelDesc};
pub use context::current::{
    current_span_context, current_span_id, current_trace_id, SpanContext, FLAG_SAMPLED,
};
pub use context::future::{FutureExt, WithContext};
pub use context::id::{SpanId, TraceId};
pub use export::{testing, Batch, ExportError, ExportErrorKind, Exporter, NoopExporter};
pub use labels::{ErrorLabel, Label, REDACTED};
pub use level::Level;
pub use metrics::aggregate::{CALLS_DURATION, CALLS_TOTAL};
pub use metrics::BOUNDS_SECONDS;
pub use pipeline::{
    builder, flush, init, set_exporter, stats, Builder, InitError, SwapError, Telemetry,
};
pub use stats::{DropReason, FlushReport, SignalStats, Stats};
