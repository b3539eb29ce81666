//! Static metadata of one instrumented function: one `static Callsite` per function, made by
//! the macro. Records and metric cells refer to it by reference or by its dense index; nothing
//! is copied per call.

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock, TryLockError};

use crate::filter::{self, Filter};
use crate::metrics::buckets::{Buckets, DEFAULT_BUCKETS};
use crate::Level;

/// One label of a callsite's metrics: its key, how many values it can take, and how a value
/// index renders as a string.
#[derive(Debug)]
pub struct LabelDesc {
    /// Label name.
    pub key: &'static str,
    /// Number of distinct values (the label type's `CARDINALITY`).
    pub cardinality: usize,
    /// Renders value index `i` (`i < cardinality`) as the exported label value.
    pub value_name: fn(usize) -> &'static str,
}

/// Static metadata of an instrumented function.
#[derive(Debug)]
pub struct Callsite {
    /// Span name.
    pub name: &'static str,
    /// Target (defaults to the module path).
    pub target: &'static str,
    /// `module_path!()`.
    pub module_path: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
    /// Span level.
    pub level: Level,
    /// Labels known when the static is made (none, for every macro-made callsite).
    static_labels: &'static [LabelDesc],
    /// Labels bound by the first call ([`Callsite::bind_labels`]). `#[instrument(labels(...))]`
    /// infers the label types from the label expressions, so their descriptions can only be
    /// made inside the function body, not in the `static`. Written once (cold path), before
    /// the first metric sample, and read on every call (one acquire load).
    bound_labels: OnceLock<&'static [LabelDesc]>,
    /// Dense index + 1 once registered, 0 before. Written once (cold path), read on every call.
    id: AtomicU32,
    /// Returns the `type_name` of a fn item nested in the instrumented function
    /// (`shop::repo::UserRepo::get::__instrument_here`), from which [`Callsite::function`] is
    /// derived. `None` for callsites made by hand.
    here: Option<fn() -> &'static str>,
    /// [`Callsite::function`], resolved once on the cold registration path.
    function: OnceLock<Box<str>>,
    /// Fields declared without a value (`fields(name)` for a name that is not a parameter,
    /// `fields(name = Empty)`): the names a span of this callsite may record later.
    declared_fields: &'static [&'static str],
    /// The filter's verdict, cached: [`UNKNOWN`] until the first call asks, then [`ENABLED`]
    /// or [`DISABLED`], rewritten by every filter change ([`set_filter`]). Read on every
    /// call (one relaxed load); written only under [`REGISTRY`]'s lock.
    interest: AtomicU8,
    /// Bucket bounds of the latency histogram (`#[instrument(buckets = [...])]`).
    buckets: &'static Buckets,
}

const UNKNOWN: u8 = 0;
const DISABLED: u8 = 1;
const ENABLED: u8 = 2;

/// Every callsite whose interest has been asked for, so a filter change can rewrite them all
/// (tracing-core's `rebuild_interest`). The lock also serialises filter changes with first
/// calls, so no callsite keeps a verdict of a filter that is no longer in force.
static REGISTRY: Mutex<Vec<&'static Callsite>> = Mutex::new(Vec::new());

/// Replaces the filter in force (spans, their metrics, and log records) and rewrites the
/// cached verdict of every callsite, at run time:
///
/// ```
/// use instrument_runtime::{current_filter, set_filter, Filter};
/// set_filter("warn,my_app::db=debug".parse().unwrap());
/// assert_eq!(current_filter().to_string(), "warn,my_app::db=debug");
/// set_filter(Filter::parse("info").unwrap());
/// ```
///
/// A call already inside a function keeps the verdict it started with; the next call uses
/// the new one. Changes are rare and take a lock; the hot path never does.
pub fn set_filter(filter: Filter) {
    let registry = lock_registry();
    filter::store(filter);
    let filter = filter::current();
    if let Some(registry) = registry {
        for cs in registry.iter() {
            cs.store_interest(&filter);
        }
    }
}

/// The filter in force (see [`set_filter`]).
pub fn current_filter() -> Filter {
    (*filter::current()).clone()
}

/// The registry, waiting for a concurrent change; `None` if it stays locked (after `fork`, by
/// a thread the child does not have): the caller then decides without the cache.
fn lock_registry() -> Option<std::sync::MutexGuard<'static, Vec<&'static Callsite>>> {
    for _ in 0..10_000 {
        match REGISTRY.try_lock() {
            Ok(g) => return Some(g),
            Err(TryLockError::Poisoned(p)) => return Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => std::thread::yield_now(),
        }
    }
    None
}

/// Number of values of the built-in `result` label (`ok`, `error`).
pub const RESULT_CARDINALITY: usize = 2;

// The series index codec (the one place it is encoded and decoded). A call's metric series is
// a mixed-radix number: the `result` digit (0 `ok`, 1 `error`) least significant, then the
// label index, whose digits are the callsite's labels in order (first label least
// significant, each in base `cardinality`).

/// The series of a call with `result` digit `outcome` and label index `label_index`.
#[inline]
pub(crate) const fn series_index(outcome: usize, label_index: usize) -> usize {
    outcome + RESULT_CARDINALITY * label_index
}

/// Splits a series index into its `result` digit and its label index.
#[inline]
pub(crate) const fn split_series(series: usize) -> (usize, usize) {
    (series % RESULT_CARDINALITY, series / RESULT_CARDINALITY)
}

impl Callsite {
    /// Builds a callsite (used by the macro's generated `static`).
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        name: &'static str,
        target: &'static str,
        module_path: &'static str,
        file: &'static str,
        line: u32,
        level: Level,
        labels: &'static [LabelDesc],
    ) -> Self {
        Callsite {
            name,
            target,
            module_path,
            file,
            line,
            level,
            static_labels: labels,
            bound_labels: OnceLock::new(),
            id: AtomicU32::new(0),
            here: None,
            function: OnceLock::new(),
            declared_fields: &[],
            interest: AtomicU8::new(UNKNOWN),
            buckets: &DEFAULT_BUCKETS,
        }
    }

    /// Gives the latency histogram its own bucket bounds; used by the macro's generated
    /// `static` for `#[instrument(buckets = [...])]`.
    pub const fn with_buckets(mut self, buckets: &'static Buckets) -> Self {
        self.buckets = buckets;
        self
    }

    /// Bucket bounds of this function's latency histogram.
    pub fn buckets(&self) -> &'static Buckets {
        self.buckets
    }

    /// Qualifies the function by the path of a fn item nested in it (see
    /// [`Callsite::function`]); used by the macro's generated `static`.
    pub const fn qualified_by(mut self, here: fn() -> &'static str) -> Self {
        self.here = Some(here);
        self
    }

    /// Declares fields recorded later (empty until then); used by the macro's generated
    /// `static`.
    pub const fn with_declared_fields(mut self, fields: &'static [&'static str]) -> Self {
        self.declared_fields = fields;
        self
    }

    /// Fields declared without a value, in the order written.
    pub fn declared_fields(&self) -> &'static [&'static str] {
        self.declared_fields
    }

    /// The function's name qualified within its module: the `function` label of its metric
    /// series, unique per function (two methods `get` of one module are `UserRepo::get` and
    /// `OrderRepo::get`). Forms, from `core::any::type_name` of a fn nested in the function
    /// with the module path (`module_path!()`) removed wherever it prefixes a path:
    ///
    /// - free fn: `checkout`; fn nested in a fn: `outer::inner`;
    /// - inherent method: `UserRepo::get`; of a generic type: `Wrapper<_>::get` (the impl's
    ///   type parameters print as `_`);
    /// - trait method: `<UserRepo as Repo>::get`; types and traits from other modules keep
    ///   their full path (`<alloc::vec::Vec<u8> as Repo>::get`), so two impls never collide;
    /// - trait default method: `Repo::describe`;
    /// - closures and async bodies the function is nested in do not appear.
    ///
    /// It does not depend on `name = ...` (the span's name). Callsites made without the macro,
    /// or if `type_name`'s output ever changes form, fall back to [`Callsite::name`].
    /// Computed once per callsite (when it registers), then read without allocation.
    pub fn function(&'static self) -> &'static str {
        self.function
            .get_or_init(|| match self.here {
                Some(here) => qualified_name(here(), self.module_path).into(),
                None => self.name.into(),
            })
            .as_ref()
    }

    /// `true` if the filter in force records this function (its span, its metrics, its `err`
    /// record). One relaxed load once the verdict is cached.
    #[inline(always)]
    pub fn enabled(&'static self) -> bool {
        // Relaxed: a standalone value; a call racing with a filter change may follow the
        // previous filter, which is harmless.
        let interest = self.interest.load(Ordering::Relaxed);
        interest == ENABLED || (interest == UNKNOWN && self.first_interest())
    }

    #[cold]
    #[inline(never)]
    fn first_interest(&'static self) -> bool {
        let Some(mut registry) = lock_registry() else {
            return filter::current().enabled(self.target, self.level);
        };
        if self.interest.load(Ordering::Relaxed) == UNKNOWN {
            registry.push(self);
            self.store_interest(&filter::current());
        }
        self.interest.load(Ordering::Relaxed) == ENABLED
    }

    fn store_interest(&self, filter: &Filter) {
        let interest = if filter.enabled(self.target, self.level) {
            ENABLED
        } else {
            DISABLED
        };
        // Relaxed: see `enabled`.
        self.interest.store(interest, Ordering::Relaxed);
    }

    /// Labels of the call metrics, in the order the series index is computed (mixed radix,
    /// first label least significant, after the `result` digit).
    pub fn labels(&self) -> &'static [LabelDesc] {
        self.bound_labels
            .get()
            .copied()
            .unwrap_or(self.static_labels)
    }

    /// Gives the callsite its labels; called by a labelled function on every call, before its
    /// span opens (so before the first metric sample sizes the series table). The first call
    /// wins: every call of one non-generic function passes the same descriptions. (A generic
    /// function whose label *types* depend on its type parameters shares one callsite between
    /// its instantiations; the first instantiation called decides the label set, and indices
    /// of the others are clamped into it, never out of bounds.)
    #[inline]
    pub fn bind_labels(&'static self, labels: &'static [LabelDesc]) {
        if self.bound_labels.get().is_none() {
            self.bind_labels_cold(labels);
        }
    }

    #[cold]
    fn bind_labels_cold(&'static self, labels: &'static [LabelDesc]) {
        // Racing first calls pass equal descriptions; whichever is stored is right.
        let _ = self.bound_labels.set(labels);
    }

    /// Number of metric series: `result` times every label's cardinality.
    pub fn series_count(&self) -> usize {
        self.labels().iter().fold(RESULT_CARDINALITY, |acc, l| {
            acc.saturating_mul(l.cardinality.max(1))
        })
    }

    /// The dense index of this callsite, registering it on first use.
    #[inline]
    pub(crate) fn index(&'static self) -> usize {
        // Relaxed is enough: the id is only an index into this thread's table of metric
        // shards; the shard itself carries the `&'static Callsite` to the exporter thread
        // (published through a SegQueue, which synchronises).
        match self.id.load(Ordering::Relaxed) {
            0 => self.register(),
            id => (id - 1) as usize,
        }
    }

    /// The dense index if a call of this callsite was ever counted in the metrics (only
    /// [`Callsite::index`], on a call's close, registers it).
    pub(crate) fn registered_index(&self) -> Option<usize> {
        // Relaxed: see `index`.
        match self.id.load(Ordering::Relaxed) {
            0 => None,
            id => Some((id - 1) as usize),
        }
    }

    #[cold]
    fn register(&'static self) -> usize {
        // Resolve the qualified name here, off the hot path.
        let _ = self.function();
        static NEXT: AtomicU32 = AtomicU32::new(1);
        // Two threads may race here; the compare_exchange decides one id, the loser's is unused.
        // Relaxed throughout: the id is a plain number that orders nothing else.
        let candidate = NEXT.fetch_add(1, Ordering::Relaxed);
        match self
            .id
            .compare_exchange(0, candidate, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => (candidate - 1) as usize,
            Err(existing) => (existing - 1) as usize,
        }
    }

    /// Each label of this callsite with its value digit in `label_index`.
    pub(crate) fn label_digits(
        &self,
        label_index: usize,
    ) -> impl Iterator<Item = (&'static LabelDesc, usize)> + '_ {
        let mut rest = label_index;
        self.labels().iter().map(move |l| {
            let card = l.cardinality.max(1);
            let digit = rest % card;
            rest /= card;
            (l, digit)
        })
    }

    /// The label values (key, rendered value) of `label_index`.
    pub(crate) fn label_values(
        &self,
        label_index: usize,
    ) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.label_digits(label_index)
            .map(|(l, digit)| (l.key, (l.value_name)(digit)))
    }
}

/// Suffix of the nested fn's path (see [`Callsite::function`]).
const HERE: &str = "::__instrument_here";

/// `type_name` of the nested fn, trimmed: the `HERE` suffix and every `::{{closure}}` segment
/// removed, then `module::` removed wherever it starts a path. Falls back to the last segment
/// when the input does not end with `HERE` (a `type_name` format this code does not know).
fn qualified_name(type_name: &str, module: &str) -> String {
    let Some(path) = type_name.strip_suffix(HERE) else {
        return type_name
            .rsplit("::")
            .next()
            .unwrap_or(type_name)
            .to_owned();
    };
    let path = path.replace("::{{closure}}", "");
    let prefix = format!("{module}::");
    let mut out = String::with_capacity(path.len());
    let mut rest = path.as_str();
    while let Some(at) = rest.find(&prefix) {
        // Only where a path starts (not inside another identifier or path).
        let starts_path = at == 0
            || !rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        out.push_str(&rest[..at]);
        if !starts_path {
            out.push_str(&prefix);
        }
        rest = &rest[at + prefix.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::qualified_name;

    #[test]
    fn qualified_names() {
        let cases = [
            ("shop::repo::checkout::__instrument_here", "checkout"),
            (
                "shop::repo::UserRepo::get::__instrument_here",
                "UserRepo::get",
            ),
            (
                "<shop::repo::UserRepo as shop::repo::Repo>::get::__instrument_here",
                "<UserRepo as Repo>::get",
            ),
            (
                "<alloc::vec::Vec<u8> as shop::repo::Repo>::get::__instrument_here",
                "<alloc::vec::Vec<u8> as Repo>::get",
            ),
            ("shop::repo::W<_>::get::__instrument_here", "W<_>::get"),
            (
                "shop::repo::Repo::describe::__instrument_here",
                "Repo::describe",
            ),
            (
                "shop::repo::UserRepo::fut::{{closure}}::__instrument_here",
                "UserRepo::fut",
            ),
            (
                "shop::repo::outer::inner::__instrument_here",
                "outer::inner",
            ),
            // Another module whose name ends like ours is not stripped.
            (
                "<shop::repo::A as myshop::repo::T>::get::__instrument_here",
                "<A as myshop::repo::T>::get",
            ),
            ("unknown form", "unknown form"),
            ("a::b::c", "c"),
        ];
        for (input, expected) in cases {
            assert_eq!(qualified_name(input, "shop::repo"), expected, "{input}");
        }
    }
}
