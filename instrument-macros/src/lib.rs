//! Procedural macros for `instrument-runtime`. Use them through that crate, which re-exports
//! them: `use instrument_runtime::{instrument, Label};`.
//!
//! Each macro is a pipeline: parse the input into a typed model, validate it (collecting every
//! error, each spanned on the offending token), then expand. On error the original item is
//! still emitted, so one mistake gives one error, not fifty.
#![forbid(unsafe_code)]

mod errors;
mod instrument;
mod label;

use proc_macro::TokenStream;

/// Instruments a function: a span with parent links, trace ids on every log record made
/// inside it, and the `function_calls_total` / `function_calls_duration_seconds` metrics.
///
/// See the `instrument-runtime` crate documentation for the arguments; the ones about metric
/// labels are:
///
/// - `labels(name = value, ...)`: label the call metrics (and the span) with bounded values:
///   string literals, `bool`, `#[derive(Label)]` enums, `Option`s of these, or any type
///   implementing `Label`. `labels(name)` takes the parameter `name`. Values are evaluated
///   once, at entry, before the body runs. Names that identify a person, request or session
///   (`user_id`, `email`, `url`, any `*_id`, ...) and the exporter's own names (`function`,
///   `module`, `result`, `error`, `le`) are refused.
/// - `error_label`: for a function returning `Result<T, E>` with `E: Label`, an `error` label
///   carrying the error's variant (`none` for `Ok`).
/// - `max_series = N`: the function's series budget (default 1000), checked at compile time
///   against the product of the label cardinalities times 2 (`result`).
///
/// And about span fields: a field whose name looks like a secret (`password`, `token`,
/// `api_key`, `authorization`, `cookie`, ...) is refused unless written
/// `fields(name = redacted)`, which records the string `"[redacted]"` and evaluates nothing.
#[proc_macro_attribute]
pub fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument::instrument(args.into(), item.into()).into()
}

/// Derives `Label` for a fieldless enum: `CARDINALITY` is the number of variants, and each
/// variant is exported under its name in `snake_case`.
///
/// ```ignore
/// // (compiled and run as a doc test of `instrument_runtime::Label`)
/// use instrument_runtime::Label;
///
/// #[derive(Label)]
/// #[label(rename_all = "kebab-case")]
/// enum Tier {
///     FreeTrial,                 // "free-trial"
///     #[label(rename = "pro")]
///     Professional,              // "pro"
/// }
///
/// assert_eq!(<Tier as Label>::CARDINALITY, 2);
/// assert_eq!(Tier::name(Tier::FreeTrial.index()), "free-trial");
/// ```
///
/// Attributes: on the enum, `#[label(rename_all = "...")]` (`snake_case`, `kebab-case`,
/// `lowercase`, `UPPERCASE`, `SCREAMING_SNAKE_CASE`, `SCREAMING-KEBAB-CASE`, `camelCase`,
/// `PascalCase`) and `#[label(crate = path::to::instrument_runtime)]`; on a variant,
/// `#[label(rename = "...")]`. Refused, with an error on the offending token: structs, unions,
/// variants with fields, enums without variants, two variants
/// exported under the same name, empty names and unknown keys.
#[proc_macro_derive(Label, attributes(label))]
pub fn derive_label(input: TokenStream) -> TokenStream {
    label::derive(input.into()).into()
}
