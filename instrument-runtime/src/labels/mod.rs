//! Bounded metric labels: the [`Label`] trait and its built-in implementations, and the
//! [`ErrorLabel`] of `error_label`. The helpers the macro's expansion calls are in `check.rs`.
//!
//! A label value selects one metric series. Its type says, at compile time, how many values it
//! can take ([`Label::CARDINALITY`]); the call path turns the value into a dense index
//! ([`Label::index`], no strings, no hashing, no allocation), and only the exporter thread turns
//! indices back into text ([`Label::name`]). See [issue 3] for the rules and why.
//!
//! [issue 3]: https://example.invalid/instrument/issues/3

pub(crate) mod check;

/// A type whose values can label metric series: it has a small, fixed set of values, known at
/// compile time.
///
/// Every distinct combination of label values is its own time series in the metrics backend,
/// so a label that can take unboundedly many values (a user id, a URL, a query string) turns
/// one metric into millions of series. `#[instrument(labels(...))]` therefore accepts only
/// values whose type implements `Label`; anything else is a compile error at the label's
/// expression that says what to do instead.
///
/// # What implements it
///
/// | value | `CARDINALITY` | exported as |
/// |---|---|---|
/// | a string literal, `labels(region = "eu-west-1")` | 1 | the literal |
/// | `bool` | 2 | `false`, `true` |
/// | a fieldless enum with `#[derive(Label)]` | its number of variants | the variant name in `snake_case`, or as renamed |
/// | `Option<L>` where `L: Label` | `L::CARDINALITY + 1` | `none`, then `L`'s names |
/// | `&L` where `L: Label` | `L::CARDINALITY` | as `L` |
/// | your own type, implemented by hand | what you declare | what [`Label::name`] returns |
///
/// ```
/// use instrument_runtime::{instrument, Label};
///
/// #[derive(Label, Clone, Copy)]
/// enum Method { Get, Post, Put, Delete }            // get, post, put, delete
///
/// #[derive(Label)]
/// #[label(rename_all = "kebab-case")]
/// enum Tier {
///     FreeTrial,                                     // free-trial
///     #[label(rename = "pro")]
///     Professional,                                  // pro
///     Enterprise,                                    // enterprise
/// }
///
/// struct Request { method: Method, tier: Option<Tier>, cached: bool }
///
/// #[instrument(labels(method = req.method, tier = req.tier, cached = req.cached, region = "eu-west-1"))]
/// fn handle(req: &Request) -> usize {
///     // exported with method="get", tier="none", cached="true", region="eu-west-1"
///     0
/// }
///
/// # let _ = handle(&Request { method: Method::Get, tier: None, cached: true });
/// assert_eq!(<Option<Tier> as Label>::CARDINALITY, 4);
/// assert_eq!(Tier::name(Tier::FreeTrial.index()), "free-trial");
/// ```
///
/// Label values are taken from the arguments **at entry**, before the body runs (the body may
/// move the arguments). Each label expression is evaluated exactly once per call.
///
/// # The derive
///
/// `#[derive(Label)]` accepts fieldless enums of any number of variants (the series budget of
/// the functions using the label is the limit). Variant names are rendered in
/// `snake_case` unless the enum says `#[label(rename_all = "...")]` (one of `snake_case`,
/// `kebab-case`, `lowercase`, `UPPERCASE`, `SCREAMING_SNAKE_CASE`, `SCREAMING-KEBAB-CASE`,
/// `camelCase`, `PascalCase`) or a variant says `#[label(rename = "...")]`. It refuses, with an
/// error on the offending token: structs, unions, variants with fields, an enum without
/// variants, two variants rendering to the same text, an empty name and
/// unknown `#[label(...)]` keys. `#[label(crate = path::to::instrument_runtime)]` names the
/// runtime when it is re-exported under another path.
///
/// # Implementing it by hand
///
/// Bucket an unbounded value into a bounded one, and declare how many buckets there are:
///
/// ```
/// use instrument_runtime::{instrument, Label};
///
/// /// Payload size class: small (< 1 KiB), medium (< 1 MiB), large.
/// struct SizeClass(u8);
///
/// impl SizeClass {
///     fn of(bytes: usize) -> SizeClass {
///         SizeClass(match bytes { 0..=1023 => 0, 1024..=1_048_575 => 1, _ => 2 })
///     }
/// }
///
/// impl Label for SizeClass {
///     const CARDINALITY: usize = 3;
///     fn index(&self) -> usize {
///         usize::from(self.0)
///     }
///     fn name(index: usize) -> &'static str {
///         ["small", "medium", "large"][index]
///     }
/// }
///
/// #[instrument(labels(size = SizeClass::of(body.len())))]
/// fn upload(body: &[u8]) {}
/// # upload(b"");
/// ```
///
/// `index` must return a value below `CARDINALITY` (a larger one is clamped to the last value so
/// it can never spill into another label's series), and `name` must accept every index below
/// `CARDINALITY`. `CARDINALITY` must be at least 1.
///
/// # Names that are refused
///
/// A label *name* that identifies a person, request or session is a compile error whatever its
/// type, with a hint to record it as a span field (`fields(user_id)`) instead: `user_id`,
/// `user`, `customer_id`, `account_id`, `session_id`, `request_id`, `trace_id`, `span_id`,
/// `email`, `ip`, `ip_address`, `url`, `path`, `uri`, `query`, `token`, `uuid`, `id`, and any
/// name ending in `_id`, `_ids` or `_uuid`. Names are compared in `snake_case`, so `userId` is
/// `user_id`. The names the exporter writes itself are reserved: `function`, `module`,
/// `result`, `error` (use `error_label` for the error label), `le` (histogram buckets), and any
/// name starting with `__` (reserved by Prometheus).
///
/// # The series budget
///
/// The number of series of one function is the product of its labels' cardinalities, times 2
/// for `result` (`ok`/`error`), times the `error` label's cardinality with `error_label`. It
/// must not exceed the function's budget: 1000 unless `#[instrument(max_series = N)]` says
/// otherwise. The check is a `const` assertion over the `CARDINALITY` constants; as the label
/// types are inferred from the expressions, it is evaluated when the function is compiled to
/// code (`cargo build`, `cargo test`), not by `cargo check`. The message names the function,
/// each label and its size:
///
/// ```text
/// error[E0080]: evaluation panicked: series budget exceeded: `handle` would have method (4) ×
///               tier (3) × region (1) × result (2) = 24 metric series, more than its budget
///               of 20; bound the labels more tightly (fewer enum variants, coarser buckets),
///               drop a label, or raise the budget with `#[instrument(max_series = N)]`
/// ```
///
/// # The `error` label
///
/// `#[instrument(error_label)]` on a function returning `Result<T, E>` (spelled that way or
/// through an alias) where `E: Label` adds a last label, `error`, carrying the error's variant
/// (`not_found`, `timeout`, ...) and `none` when the call returned `Ok` (or panicked). It counts
/// in the budget with `E::CARDINALITY + 1` values. It is opt-in: whether a function has an
/// `error` label, and how many series it costs, is written in its attribute, never inferred.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a metric label: its values are not a small set known at compile time",
    label = "unbounded label value: every distinct `{Self}` would become a separate time series",
    note = "a label takes few values, all known to the compiler: a string literal, `bool`, a fieldless enum with `#[derive(Label)]`, `Option` of one of these, or a type implementing `Label` by hand",
    note = "derive `Label` on an enum of the cases you care about, bucket the value into one (e.g. a `SizeClass` with a hand-written `Label` impl), or record it as a span field instead: `fields(name = value)`"
)]
pub trait Label {
    /// How many values this type can take; value indices are `0..CARDINALITY`. At least 1.
    const CARDINALITY: usize;

    /// The dense index of this value, below `CARDINALITY`. Runs on every call: keep it to a
    /// `match` or a comparison (no strings, no allocation).
    fn index(&self) -> usize;

    /// The exported text of the value with index `index` (`index < CARDINALITY`). Runs only on
    /// the exporter thread (and when recording the span attributes of a sampled call).
    fn name(index: usize) -> &'static str;
}

impl Label for bool {
    const CARDINALITY: usize = 2;

    #[inline]
    fn index(&self) -> usize {
        usize::from(*self)
    }

    fn name(index: usize) -> &'static str {
        if index == 0 {
            "false"
        } else {
            "true"
        }
    }
}

/// `None` is the first value, rendered `none`; `Some(v)` is `v`'s value.
impl<L: Label> Label for Option<L> {
    const CARDINALITY: usize = L::CARDINALITY.saturating_add(1);

    #[inline]
    fn index(&self) -> usize {
        match self {
            None => 0,
            Some(v) => 1 + label_index(v),
        }
    }

    fn name(index: usize) -> &'static str {
        match index {
            0 => "none",
            i => L::name(i - 1),
        }
    }
}

/// A reference labels like its referent (so `labels(tier = tier)` works for `tier: &Tier`).
#[diagnostic::do_not_recommend]
impl<L: Label + ?Sized> Label for &L {
    const CARDINALITY: usize = L::CARDINALITY;

    #[inline]
    fn index(&self) -> usize {
        (**self).index()
    }

    fn name(index: usize) -> &'static str {
        L::name(index)
    }
}

/// `value`'s index, clamped below `CARDINALITY` so a faulty hand-written `index` can never
/// select another label's series.
#[inline]
pub fn label_index<L: Label + ?Sized>(value: &L) -> usize {
    let i = value.index();
    if i < L::CARDINALITY {
        i
    } else {
        L::CARDINALITY.saturating_sub(1)
    }
}

/// The `error` label of `#[instrument(error_label)]`, implemented for `Result<T, E>` with
/// `E: Label` (whatever alias spells it): value 0 is `none` (the call did not return `Err`),
/// then `E`'s values. Not meant to be implemented elsewhere.
///
/// ```
/// use instrument_runtime::{instrument, Label};
///
/// #[derive(Label, Debug)]
/// enum ApiError { NotFound, Timeout }
///
/// type ApiResult<T> = Result<T, ApiError>;
///
/// // function_calls_total{..., result="error", error="not_found"}
/// #[instrument(error_label)]
/// fn load(key: u32) -> ApiResult<String> {
///     Err(ApiError::NotFound)
/// }
/// # let _ = load(1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`error_label` needs a function returning `Result<T, E>` where `E: Label`, not `{Self}`",
    label = "`{Self}` is not a `Result` whose error type implements `Label`",
    note = "derive `Label` on the error enum (`#[derive(Label)] enum ApiError {{ NotFound, Timeout }}`), implement `Label` for it by hand, or remove `error_label`"
)]
pub trait ErrorLabel {
    /// `E::CARDINALITY + 1`.
    const CARDINALITY: usize;

    /// 0 for `Ok`, `1 + E::index` for `Err`.
    fn error_index(&self) -> usize;

    /// `none`, then `E`'s names.
    fn name(index: usize) -> &'static str;
}

#[diagnostic::do_not_recommend]
impl<T, E: Label> ErrorLabel for Result<T, E> {
    const CARDINALITY: usize = E::CARDINALITY.saturating_add(1);

    #[inline]
    fn error_index(&self) -> usize {
        match self {
            Ok(_) => 0,
            Err(e) => 1 + label_index(e),
        }
    }

    fn name(index: usize) -> &'static str {
        match index {
            0 => "none",
            i => E::name(i - 1),
        }
    }
}

/// The value recorded for `fields(name = redacted)`.
pub const REDACTED: &str = "[redacted]";

#[cfg(test)]
mod tests {
    use super::check::*;
    use super::*;

    #[derive(Debug)]
    enum Three {
        A,
        B,
        C,
    }

    impl Label for Three {
        const CARDINALITY: usize = 3;
        fn index(&self) -> usize {
            match self {
                Three::A => 0,
                Three::B => 1,
                Three::C => 7, // out of range on purpose: clamped
            }
        }
        fn name(index: usize) -> &'static str {
            ["a", "b", "c"][index]
        }
    }

    #[test]
    fn builtin_cardinalities_and_names() {
        assert_eq!(<bool as Label>::CARDINALITY, 2);
        assert_eq!((true.index(), bool::name(1)), (1, "true"));
        assert_eq!(<Option<Three> as Label>::CARDINALITY, 4);
        assert_eq!(None::<Three>.index(), 0);
        assert_eq!(Some(Three::B).index(), 2);
        assert_eq!(<Option<Three>>::name(0), "none");
        assert_eq!(<Option<Three>>::name(2), "b");
        assert_eq!(<&Three as Label>::CARDINALITY, 3);
    }

    #[test]
    fn out_of_range_index_is_clamped() {
        assert_eq!(label_index(&Three::C), 2);
        assert_eq!(label_index(&Three::A), 0);
        assert_eq!(Some(Three::C).index(), 3);
    }

    #[test]
    fn error_label_of_result() {
        let ok: Result<(), Three> = Ok(());
        let err: Result<(), Three> = Err(Three::B);
        assert_eq!(<Result<(), Three> as ErrorLabel>::CARDINALITY, 4);
        assert_eq!((ok.error_index(), err.error_index()), (0, 2));
        assert_eq!(<Result<(), Three> as ErrorLabel>::name(2), "b");
        let set = LabelSet::<Result<(), Three>>::new(1, 6, 0, &[], ErrorLabel::error_index);
        assert_eq!(set.index_with(&err), 1 + 2 * 6);
    }

    #[test]
    fn budget_message() {
        const OK: Budget = Budget::check("f", &["a", "b"], &[4, 5], 40);
        assert!(!OK.exceeded());
        const OVER: Budget = Budget::check("handle", &["method", "tier"], &[4, 3], 20);
        assert!(OVER.exceeded());
        assert!(
            OVER.message().starts_with(
                "series budget exceeded: `handle` would have method (4) × tier (3) × result (2) \
                 = 24 metric series, more than its budget of 20;"
            ),
            "{}",
            OVER.message()
        );
        const ZERO: Budget = Budget::check("f", &["a"], &[0], 1000);
        assert!(ZERO.exceeded() && ZERO.message().contains("`a`"));
        const HUGE: Budget = Budget::check("f", &["a", "b"], &[usize::MAX, 3], 1000);
        assert!(HUGE.exceeded());
    }
}
