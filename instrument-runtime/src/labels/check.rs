//! The helpers `#[instrument(labels(...))]`'s expansion calls (re-exported from `__private`,
//! not part of the public API): the per-call [`LabelSet`], `fields(name = redacted)`, and the
//! compile-time series [`Budget`].

use std::borrow::Cow;
use std::marker::PhantomData;

use super::REDACTED;
use crate::callsite::LabelDesc;
use crate::data::Value;

/// What a labelled call computed at entry: its series index (the user labels' digits), the
/// weight of the `error` digit, and the callsite's label descriptions. `R` is the function's
/// return type (`()` without `error_label`). Holds no borrow, so it lives across the body.
pub struct LabelSet<R: ?Sized> {
    /// Mixed-radix index of the user labels' values (first label least significant).
    pub index: usize,
    /// Product of the user labels' cardinalities: the weight of the `error` digit.
    pub stride: usize,
    /// Number of user labels at the start of `descs` (the `error` label, if any, is last).
    pub user_labels: usize,
    /// Every label of the callsite, in index order.
    pub descs: &'static [LabelDesc],
    /// The `error` digit of a return value (always 0 without `error_label`).
    pub error_index: fn(&R) -> usize,
    _ret: PhantomData<fn(&R)>,
}

impl<R: ?Sized> std::fmt::Debug for LabelSet<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelSet")
            .field("index", &self.index)
            .field("stride", &self.stride)
            .field("descs", &self.descs)
            .finish_non_exhaustive()
    }
}

impl<R: ?Sized> LabelSet<R> {
    /// Bundles what the generated label function computed.
    #[inline]
    pub fn new(
        index: usize,
        stride: usize,
        user_labels: usize,
        descs: &'static [LabelDesc],
        error_index: fn(&R) -> usize,
    ) -> Self {
        LabelSet {
            index,
            stride,
            user_labels,
            descs,
            error_index,
            _ret: PhantomData,
        }
    }

    /// The full series index once the call returned `ret`.
    #[inline]
    pub fn index_with(&self, ret: &R) -> usize {
        self.index + (self.error_index)(ret) * self.stride
    }
}

/// The `error_index` of a function without `error_label`.
#[inline]
pub fn no_error<R: ?Sized>(_: &R) -> usize {
    0
}

/// `fields(name = redacted)`: the field is present, its value is not (nothing is evaluated).
#[inline]
pub fn redacted() -> Value {
    Value::Str(Cow::Borrowed(REDACTED))
}

/// The outcome of the compile-time series budget check, with its message built in a `const`
/// context (const panics cannot format numbers, so the text is assembled here).
#[derive(Debug)]
pub struct Budget {
    buf: [u8; 1024],
    len: usize,
    exceeded: bool,
}

impl Budget {
    /// Checks `cards` (the labels' cardinalities, `result` excluded) of function `function`
    /// against `max` series. `keys` and `cards` have the same length.
    pub const fn check(function: &str, keys: &[&str], cards: &[usize], max: usize) -> Budget {
        let mut b = Budget {
            buf: [0; 1024],
            len: 0,
            exceeded: false,
        };
        let mut i = 0;
        while i < keys.len() {
            if cards[i] == 0 {
                b.exceeded = true;
                b = b
                    .text("label `")
                    .text(keys[i])
                    .text("` of `")
                    .text(function);
                return b.text(
                    "` has a `Label::CARDINALITY` of 0: a label type needs at least one value",
                );
            }
            i += 1;
        }
        let total = series(cards);
        if total <= max {
            return b;
        }
        b.exceeded = true;
        b = b
            .text("series budget exceeded: `")
            .text(function)
            .text("` would have ");
        let mut i = 0;
        while i < keys.len() {
            b = b.text(keys[i]).text(" (").number(cards[i]).text(") × ");
            i += 1;
        }
        b = b.text("result (2) = ").number(total);
        b = b
            .text(" metric series, more than its budget of ")
            .number(max);
        b.text(
            "; bound the labels more tightly (fewer enum variants, coarser buckets), drop a \
             label, or raise the budget with `#[instrument(max_series = N)]`",
        )
    }

    /// `true` when the budget is exceeded (or a label has no value).
    pub const fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// The error message.
    pub const fn message(&self) -> &str {
        let (text, _) = self.buf.split_at(self.len);
        match std::str::from_utf8(text) {
            Ok(s) => s,
            Err(_) => "series budget exceeded",
        }
    }

    /// Appends `s` if it fits whole (so a multi-byte character is never cut).
    const fn text(mut self, s: &str) -> Budget {
        let bytes = s.as_bytes();
        if self.len + bytes.len() > self.buf.len() {
            return self;
        }
        let mut i = 0;
        while i < bytes.len() {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    const fn number(mut self, mut n: usize) -> Budget {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if self.len + count > self.buf.len() {
            return self;
        }
        while count > 0 {
            count -= 1;
            self.buf[self.len] = digits[count];
            self.len += 1;
        }
        self
    }
}

/// `2 × Π cards`, saturating.
const fn series(cards: &[usize]) -> usize {
    let mut total: usize = 2;
    let mut i = 0;
    while i < cards.len() {
        total = total.saturating_mul(cards[i]);
        i += 1;
    }
    total
}
