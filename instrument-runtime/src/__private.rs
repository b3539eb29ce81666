//! What `#[instrument]`'s expansion calls. Not API: no stability promise, hidden from docs.

use std::fmt;

pub use crate::attributes::FieldValue;
pub use crate::callsite::{Callsite, LabelDesc};
pub use crate::context::current::SpanContext;
pub use crate::context::span::{level_from_str, Outcome, Span};
pub use crate::data::{SpanKind, Value};
pub use crate::labels::check::{no_error, redacted, Budget, LabelSet};
pub use crate::labels::{label_index, ErrorLabel, Label};
pub use crate::metrics::Buckets;
pub use crate::Level;

/// A value moved into a sync body's closure so the closure is `FnOnce` (it may then return
/// borrows of its captured arguments). Deliberately not `Copy`.
#[derive(Debug)]
pub struct Once;

/// Runs the enabled path of an instrumented sync function (span, body, close) in a frame of
/// its own, so the function's own frame stays that of its plain body: the disabled path is
/// one relaxed load, a branch and the body.
#[inline(never)]
pub fn outlined<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Never called: `if false { return expected::<T>(); }` at the top of an async body fixes the
/// block's return type to the function's declared one before the body is checked.
pub fn expected<T>() -> T {
    unreachable!("only named in a branch that never runs")
}

/// `core::any::type_name` of a value's type: of the fn item `#[instrument]` nests in the
/// function, the function's path (see [`Callsite::function`]).
pub fn type_name_of<T>(_: T) -> &'static str {
    core::any::type_name::<T>()
}

/// `follows_from = expr` (tracing's shape: an iterable of contexts, e.g. `[ctx]`, a `Vec`, an
/// `Option`): every valid context `expr` yields is a link of the span. The runtime has no link
/// list on spans yet, so the links are recorded (when sampled) as the attribute
/// `follows_from`: `trace_id-span_id` (hex) of each, comma-separated, in order.
pub fn follows_from<I>(span: &mut Span, links: I)
where
    I: IntoIterator,
    I::Item: IntoParent,
{
    if !span.is_sampled() {
        return;
    }
    let mut text = String::new();
    for ctx in links.into_iter().filter_map(IntoParent::into_parent) {
        if !text.is_empty() {
            text.push(',');
        }
        text.push_str(&format!("{}-{}", ctx.trace_id, ctx.span_id));
    }
    if !text.is_empty() {
        span.record("follows_from", Value::from(text));
    }
}

/// `err` / `err(level = ..)`: a returned error marks the span failed with its text (the span's
/// status message) and emits a log record with the span's ids: at ERROR by default; at
/// another level, the record has that level and the text is the span's `error.message`
/// attribute.
pub fn record_error(
    span: &mut Span,
    callsite: &'static Callsite,
    level: Level,
    error: &dyn fmt::Display,
) {
    if level == Level::Error {
        span.record_error(error);
        return;
    }
    let message = crate::attributes::display_string(error);
    emit_log(callsite, span.context(), level, &message);
    if span.is_sampled() {
        span.record("error.message", Value::from(message));
    }
}

/// `err(Debug)`: [`record_error`] with the error's `Debug` form.
pub fn record_error_debug(
    span: &mut Span,
    callsite: &'static Callsite,
    level: Level,
    error: &dyn fmt::Debug,
) {
    record_error(
        span,
        callsite,
        level,
        &crate::attributes::DebugAsDisplay(error),
    );
}

/// A log record at `level` carrying `ctx`'s ids (see `log_record::emit_at`).
fn emit_log(callsite: &'static Callsite, ctx: SpanContext, level: Level, message: &str) {
    crate::log_record::emit_at(callsite, ctx, level, message);
}

/// A field recorded without a sigil.
#[inline]
pub fn value<T: FieldValue + ?Sized>(v: &T) -> Value {
    v.to_value()
}

/// A field recorded with `%` (its `Display` form).
#[inline]
pub fn display<T: fmt::Display + ?Sized>(v: &T) -> Value {
    crate::attributes::display(&v)
}

/// A field recorded with `?` (its `Debug` form).
#[inline]
pub fn debug<T: fmt::Debug + ?Sized>(v: &T) -> Value {
    crate::attributes::debug(&v)
}

/// Autoref-specialisation probe: `(&Probe(&ret)).__instrument_outcome()` is `Error` for an
/// `Err` value of a `Result`, and `Ok` for every other value (including generic `T`).
#[derive(Debug)]
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// The specific case: a `Result`.
pub trait OutcomeOfResult {
    /// `Ok` or `Error` from the variant.
    fn __instrument_outcome(&self) -> Outcome;
}

impl<T, E> OutcomeOfResult for Probe<'_, Result<T, E>> {
    #[inline]
    fn __instrument_outcome(&self) -> Outcome {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::Error,
        }
    }
}

/// The fallback: anything else returned normally.
pub trait OutcomeOfOther {
    /// Always `Ok`.
    fn __instrument_outcome(&self) -> Outcome;
}

impl<T: ?Sized> OutcomeOfOther for &Probe<'_, T> {
    #[inline]
    fn __instrument_outcome(&self) -> Outcome {
        Outcome::Ok
    }
}

/// The parent context of `parent = expr`.
pub fn parent_context<P: IntoParent>(p: P) -> Option<SpanContext> {
    p.into_parent()
}

/// What `parent = ...` and each item of `follows_from = ...` accept.
#[diagnostic::on_unimplemented(
    message = "`parent = ...` / `follows_from = ...` cannot use a `{Self}`",
    label = "not a span context",
    note = "give a `SpanContext` (e.g. `instrument_runtime::current_span_context()`), a `RemoteContext` (from `propagation::extract`), or an `Option` of either; `None` starts a new trace",
    note = "a `tracing` span or span `Id` names a span of a tracing subscriber, which instrument never sees: pass the `SpanContext` of one of our spans instead"
)]
pub trait IntoParent {
    /// The context, `None` for a new trace (invalid contexts count as `None`).
    fn into_parent(self) -> Option<SpanContext>;
}

impl IntoParent for SpanContext {
    fn into_parent(self) -> Option<SpanContext> {
        Some(self).filter(SpanContext::is_valid)
    }
}
impl IntoParent for &SpanContext {
    fn into_parent(self) -> Option<SpanContext> {
        (*self).into_parent()
    }
}
impl IntoParent for crate::propagation::RemoteContext {
    fn into_parent(self) -> Option<SpanContext> {
        SpanContext::from(&self).into_parent()
    }
}
impl IntoParent for &crate::propagation::RemoteContext {
    fn into_parent(self) -> Option<SpanContext> {
        SpanContext::from(self).into_parent()
    }
}
impl<P: IntoParent> IntoParent for Option<P> {
    fn into_parent(self) -> Option<SpanContext> {
        self.and_then(IntoParent::into_parent)
    }
}
impl<'a, P> IntoParent for &'a Option<P>
where
    &'a P: IntoParent,
{
    fn into_parent(self) -> Option<SpanContext> {
        self.as_ref().and_then(IntoParent::into_parent)
    }
}

/// What `err` needs: a `Result`.
#[diagnostic::on_unimplemented(
    message = "`err` needs a function that returns `Result`, not `{Self}`",
    label = "this function does not return a `Result`",
    note = "remove `err`, or return a `Result<T, E>`"
)]
pub trait IsResult {
    /// The `Ok` type.
    type Ok;
    /// The `Err` type.
    type Err;
    /// The error, if any.
    fn err_ref(&self) -> Option<&Self::Err>;
    /// The value, if `Ok`.
    fn ok_ref(&self) -> Option<&Self::Ok>;
}

impl<T, E> IsResult for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn err_ref(&self) -> Option<&E> {
        self.as_ref().err()
    }
    fn ok_ref(&self) -> Option<&T> {
        self.as_ref().ok()
    }
}

/// `err`: the error of a returned `Err`, as `Display`.
#[inline]
pub fn err_display<R>(ret: &R) -> Option<&dyn fmt::Display>
where
    R: IsResult,
    R::Err: fmt::Display,
{
    ret.err_ref().map(|e| e as &dyn fmt::Display)
}

/// `err(Debug)`: the error of a returned `Err`, as `Debug`.
#[inline]
pub fn err_debug<R>(ret: &R) -> Option<&dyn fmt::Debug>
where
    R: IsResult,
    R::Err: fmt::Debug,
{
    ret.err_ref().map(|e| e as &dyn fmt::Debug)
}

/// `ret` with `err`: the value of a returned `Ok`, as `Debug`.
#[inline]
pub fn ok_debug<R>(ret: &R) -> Option<&dyn fmt::Debug>
where
    R: IsResult,
    R::Ok: fmt::Debug,
{
    ret.ok_ref().map(|v| v as &dyn fmt::Debug)
}

/// `ret(Display)` with `err`: the value of a returned `Ok`, as `Display`.
#[inline]
pub fn ok_display<R>(ret: &R) -> Option<&dyn fmt::Display>
where
    R: IsResult,
    R::Ok: fmt::Display,
{
    ret.ok_ref().map(|v| v as &dyn fmt::Display)
}

/// `ret`: the value as `Debug`.
#[inline]
pub fn ret_debug<T: fmt::Debug>(v: &T) -> &dyn fmt::Debug {
    v
}

/// `ret(Display)`: the value as `Display`.
#[inline]
pub fn ret_display<T: fmt::Display>(v: &T) -> &dyn fmt::Display {
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::needless_borrow)] // the borrow is the point: it selects the impl
    fn probe_picks_result_variant() {
        let ok: Result<u8, ()> = Ok(1);
        let err: Result<u8, ()> = Err(());
        assert_eq!((&Probe(&ok)).__instrument_outcome(), Outcome::Ok);
        assert_eq!((&Probe(&err)).__instrument_outcome(), Outcome::Error);
        assert_eq!((&Probe(&5u32)).__instrument_outcome(), Outcome::Ok);
    }
}
