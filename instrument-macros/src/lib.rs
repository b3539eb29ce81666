//! Procedural macros for `instrument-runtime`. Use them through that crate, which re-exports
//! them: `use instrument_runtime::instrument;`.
//!
//! Each macro is a pipeline: parse the input into a typed model, validate it (collecting every
//! error, each spanned on the offending token), then expand. On error the original item is
//! still emitted, so one mistake gives one error, not fifty.
#![forbid(unsafe_code)]

mod errors;
mod instrument;

use proc_macro::TokenStream;

/// Instruments a function: a span with parent links, trace ids on every log record made
/// inside it, and the `function_calls_total` / `function_calls_duration_seconds` metrics.
///
/// See the `instrument-runtime` crate documentation for the arguments.
#[proc_macro_attribute]
pub fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument::instrument(args.into(), item.into()).into()
}
