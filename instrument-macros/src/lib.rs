//! Procedural macros for `instrument-runtime`. Use them through that crate, which re-exports
//! them: `use instrument_runtime::{instrument, Label};`.
//!
//! Each macro is a pipeline: parse the input into a typed model, validate it, then expand, with
//! one error accumulator (`errors::Errors`) threaded through, so every mistake is reported in
//! one build, each spanned on the offending token. On error the original item (or a
//! placeholder impl) is still emitted, so one mistake gives one error, not fifty.
//!
//! - `instrument/`: `item` + `body` (the function and the shape of its body) and `args` (the
//!   attribute) -> `validate` (with `refused`'s name lists) -> `expand` (with `names` and
//!   `labels`);
//! - `label/`: `ast` -> `validate` -> `expand` (with `case` for `rename_all`).
#![forbid(unsafe_code)]

mod errors;
mod instrument;
mod label;

use proc_macro::TokenStream;

/// Instruments a function: a span with parent links, trace ids on every log record made
/// inside it, and the `function_calls_total` / `function_calls_duration_seconds` metrics.
///
/// A drop-in for `tracing::instrument`: every argument form it accepts is accepted here with
/// the same meaning (the differences are listed at the end).
///
/// ```
/// use instrument_runtime::instrument;
///
/// #[instrument(err, fields(order_size = items.len()))]
/// fn checkout(items: &[u32]) -> Result<u32, String> {
///     items.iter().sum::<u32>().checked_sub(1).ok_or_else(|| "empty cart".to_owned())
/// }
/// # assert_eq!(checkout(&[2]), Ok(1));
/// ```
///
/// # What is instrumented
///
/// Free functions, `async fn`, methods (`&self`, `&mut self`, `self`), trait impl and default
/// methods, generic functions, `unsafe fn`, functions returning `impl Trait`, `-> !`, with
/// early `return` and `?`. The signature is untouched.
///
/// A function that **returns a future it builds** is instrumented as that future, not as its
/// creation: the span opens at the first poll, covers every await, and closes with the
/// future's output (which `err`, `ret` and `error_label` see). The shapes recognised are the
/// body's last expression being `async { .. }` / `async move { .. }`, `Box::pin(async ..)`
/// (what `#[async_trait]` >= 0.1.44 generates, and `-> impl Future` / `-> Pin<Box<dyn
/// Future>>` written by hand), and `Box::pin(inner(..))` with `async fn inner` declared in the
/// body (async-trait <= 0.1.43; `self` in the attribute's expressions is read as its `_self`,
/// and `Self` cannot be named there). The attribute's expressions (`fields`, `labels`,
/// `parent`) are then evaluated inside the future at its first poll, as tracing does: they may
/// use what the future captures (the parameters an `async move` block moves in).
///
/// ```
/// use std::future::Future;
/// use instrument_runtime::instrument;
///
/// #[instrument(err)]
/// fn fetch(id: u32) -> impl Future<Output = Result<u32, String>> {
///     async move { if id == 0 { Err("no id".to_owned()) } else { Ok(id) } }
/// }
/// ```
///
/// # Arguments
///
/// - **`name = "..."`**, or a bare `"..."` first, or any `&'static str` constant
///   (`name = NAME`): the span's name (default: the function's name). The metric series is
///   the function's whatever the name (see *Metric series*).
///   ```
///   # use instrument_runtime::instrument;
///   const NAME: &str = "load_user";
///   #[instrument("load")] fn a() {}
///   #[instrument(name = NAME)] fn b() {}
///   ```
/// - **`level = ...`**: `"trace"`..`"error"` (any case), `1`..=`5` (1 = trace), tracing's
///   `Level::DEBUG` or ours `Level::Debug` (read by the last segment), or a constant of type
///   `instrument_runtime::Level`. Default `info`.
///   ```
///   # use instrument_runtime::instrument;
///   #[instrument(level = "debug")] fn a() {}
///   #[instrument(level = 2)] fn b() {}
///   #[instrument(level = instrument_runtime::Level::Debug)] fn c() {}
///   ```
/// - **`target = "..."`** or a `&'static str` constant: the span's target (default: the
///   module path).
/// - **`fields(...)`**: span attributes, recorded when the span is sampled.
///   `fields(arg)` records the parameter `arg`; `key = expr` a value (numbers, bools,
///   strings); `key = %expr` its `Display`, `key = ?expr` its `Debug`; keys may be dotted
///   (`http.method`), keywords (`r#type`, `self`), or a constant in braces (`{KEY} = ..`).
///   `fields(name)` for a name that is not a parameter, and `name = Empty`
///   (`tracing::field::Empty`), declare a field to be recorded later (on the callsite:
///   `Callsite::declared_fields`). A name that looks like a secret (`password`, `token`,
///   `api_key`, `authorization`, `cookie`, ...) is refused unless written
///   `name = redacted`, which records `"[redacted]"` and evaluates nothing.
///   **Parameters are recorded only when named here** (tracing records them all): capturing
///   every argument leaks secrets to every backend and costs time on every call.
///   ```
///   # use instrument_runtime::instrument;
///   const KEY: &str = "cart.size";
///   #[instrument(fields(user, %id, {KEY} = items.len(), http.method = "GET", status = Empty,
///                       token = redacted))]
///   fn handle(id: u64, items: Vec<u8>, token: &str) {}
///   # use tracing::field::Empty;
///   ```
/// - **`skip(a, self)`**, **`skip_all`**: accepted for tracing's sake; nothing is captured
///   unless named in `fields` anyway. Parameters count as used, as with tracing.
/// - **`err`**, **`err(Display)`**, **`err(Debug)`**, **`err(level = ..)`** (and both): on
///   `Err`, the span's status is error with the error's text, and a log record with the
///   span's ids is emitted at `level` (default ERROR; at another level the text is also the
///   span attribute `error.message`). Needs a function returning `Result`.
///   ```
///   # use instrument_runtime::instrument;
///   #[instrument(err(Debug, level = "warn"))]
///   fn parse(s: &str) -> Result<u8, std::num::ParseIntError> { s.parse() }
///   ```
/// - **`ret`**, **`ret(Display)`**, **`ret(Debug)`**, **`ret(level = ..)`**: the return value
///   as span attribute `return` (with `err`, the `Ok` value only). The level is accepted for
///   tracing's sake: an attribute has none.
/// - **`parent = ctx`**: the parent, from a `SpanContext`, a `RemoteContext` (an extracted
///   `traceparent`) or an `Option` of either; `None` starts a new trace. A tracing span or
///   `Id` is refused with an error saying what to pass instead.
///   ```
///   # use instrument_runtime::{instrument, SpanContext};
///   #[instrument(parent = remote, skip(remote))]
///   fn handle(remote: Option<SpanContext>) {}
///   ```
/// - **`follows_from = iter`**: the contexts this span is caused by (an iterable of
///   `SpanContext`s, `RemoteContext`s or `Option`s of them: `[ctx]`, a `Vec`, an `Option`),
///   evaluated before the span opens; a tracing span or `Id` is refused. Recorded as
///   the attribute `follows_from` (`trace_id-span_id`, comma-separated): the runtime has no
///   span links yet.
///   ```
///   # use instrument_runtime::{instrument, SpanContext};
///   #[instrument(follows_from = causes, skip(causes))]
///   fn batch(causes: Vec<SpanContext>) {}
///   ```
/// - **`labels(name = value, ...)`**: label the call metrics (and the span) with bounded
///   values: string literals, `bool`, `#[derive(Label)]` enums, `Option`s of these, or any
///   type implementing `Label`. `labels(name)` takes the parameter `name`. Values are
///   evaluated once, at entry, before the body runs. Names that identify a person, request or
///   session (`user_id`, `email`, `url`, any `*_id`, ...) and the exporter's own names
///   (`function`, `module`, `result`, `error`, `le`) are refused.
/// - **`error_label`**: for a function returning `Result<T, E>` with `E: Label`, an `error`
///   label carrying the error's variant (`none` for `Ok`).
/// - **`max_series = N`**: the function's series budget (default 1000), checked at compile
///   time against the product of the label cardinalities times 2 (`result`).
///   ```
///   # use instrument_runtime::{instrument, Label};
///   #[derive(Label, Clone, Copy)]
///   enum Tier { Free, Pro }
///   #[instrument(labels(tier, region = "eu"), max_series = 10)]
///   fn serve(tier: Tier) {}
///   ```
/// - **`buckets = [b1, b2, ...]`**: the latency histogram's own upper bounds, in seconds
///   (default `BOUNDS_SECONDS`). Checked at compile time: number literals, 1 to 30 of them,
///   each finite, from 1e-9 to 1e9, strictly increasing in whole nanoseconds.
///   ```
///   # use instrument_runtime::instrument;
///   #[instrument(buckets = [0.0005, 0.001, 0.005, 0.02])]
///   fn lookup() {}
///   ```
/// - **`crate = path`**: where `instrument_runtime` is, if renamed or re-exported.
///
/// # Metric series
///
/// Every call is counted and timed under `function`, `module` and `result`. `function` is the
/// function's path within its module, so two functions never share a series: `checkout`,
/// `UserRepo::get` (inherent method), `<UserRepo as Repo>::get` (trait method; types and
/// traits from other modules keep their full path), `Repo::describe` (default method),
/// `Wrapper<_>::get` (generic impl: parameters print as `_`), `outer::inner` (fn inside a fn).
/// It is read from `core::any::type_name` once per function, when it first runs.
///
/// # Differences from `tracing::instrument`
///
/// Parameters are not recorded unless named in `fields`; `ret` is an attribute, not an event;
/// `parent` / `follows_from` take our `SpanContext`, not tracing's `Id`; span links are an
/// attribute. The compatibility tests (`tests/tests/compat_tracing_attributes.rs`) are
/// tracing-attributes' own suite, with each difference marked.
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
/// There is no cap on the number of variants: the series budget of each function using the
/// label (`max_series`, default 1000) is the rule, so a 250-value enum fits the default budget
/// of a function with no other label.
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
