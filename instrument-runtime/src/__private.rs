//! What `#[instrument]`'s expansion calls. Not API: no stability promise, hidden from docs.

use std::fmt;

pub use crate::attributes::FieldValue;
pub use crate::callsite::{Callsite, LabelDesc};
pub use crate::context::current::SpanContext;
pub use crate::context::span::{level_from_str, Outcome, Span};
pub use crate::export::Value;
pub use crate::labels::{label_index, no_error, redacted, Budget, ErrorLabel, Label, LabelSet};
pub use crate::Level;

/// A value moved into a sync body's closure so the closure is `FnOnce` (it may then return
/// borrows of its captured arguments). Deliberately not `Copy`.
#[derive(Debug)]
pub struct Once;

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

/// The parent context of `parent = expr`: anything convertible to an optional span context.
pub fn parent_context<P: Into<ParentContext>>(p: P) -> Option<SpanContext> {
    p.into().0
}

/// A parent given with `parent = ...`.
#[derive(Debug, Clone, Copy)]
pub struct ParentContext(pub Option<SpanContext>);

impl From<SpanContext> for ParentContext {
    fn from(c: SpanContext) -> Self {
        ParentContext(Some(c).filter(SpanContext::is_valid))
    }
}
impl From<Option<SpanContext>> for ParentContext {
    fn from(c: Option<SpanContext>) -> Self {
        ParentContext(c.filter(SpanContext::is_valid))
    }
}
impl From<&SpanContext> for ParentContext {
    fn from(c: &SpanContext) -> Self {
        (*c).into()
    }
}
impl From<&Option<SpanContext>> for ParentContext {
    fn from(c: &Option<SpanContext>) -> Self {
        (*c).into()
    }
}

impl From<crate::propagation::RemoteContext> for ParentContext {
    fn from(c: crate::propagation::RemoteContext) -> Self {
        SpanContext::from(c).into()
    }
}
impl From<&crate::propagation::RemoteContext> for ParentContext {
    fn from(c: &crate::propagation::RemoteContext) -> Self {
        SpanContext::from(c).into()
    }
}
impl From<Option<crate::propagation::RemoteContext>> for ParentContext {
    fn from(c: Option<crate::propagation::RemoteContext>) -> Self {
        ParentContext(c.map(SpanContext::from).filter(SpanContext::is_valid))
    }
}
impl From<&Option<crate::propagation::RemoteContext>> for ParentContext {
    fn from(c: &Option<crate::propagation::RemoteContext>) -> Self {
        ParentContext(
            c.as_ref()
                .map(SpanContext::from)
                .filter(SpanContext::is_valid),
        )
    }
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
