//! Instrumented code built under the strictest lints a user may turn on. The user code here is
//! clean under them, so any warning in this module comes from the expansion (CI denies them
//! all through `cargo clippy --all-targets -- -D warnings`).
#![forbid(unsafe_code)]
#![deny(
    unused,
    unused_qualifications,
    unused_results,
    unused_lifetimes,
    unreachable_pub,
    trivial_casts,
    trivial_numeric_casts,
    let_underscore_drop,
    unit_bindings,
    rust_2018_idioms,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]

use std::fmt;
use std::num::ParseIntError;

use instrument_runtime::{instrument, SpanContext};

/// Its own latency buckets (long literals in the expansion must not trip
/// `clippy::unreadable_literal`).
#[must_use]
#[instrument(buckets = [0.000_1, 0.25, 10])]
pub fn with_buckets(n: u64) -> u64 {
    n + 1
}

/// An error with `Display` and `Debug`.
#[derive(Debug, PartialEq, Eq)]
pub enum HygieneError {
    /// Not a number.
    Parse(ParseIntError),
    /// Zero is refused.
    Zero,
}

impl fmt::Display for HygieneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HygieneError::Parse(e) => write!(f, "parse: {e}"),
            HygieneError::Zero => f.write_str("zero"),
        }
    }
}

impl From<ParseIntError> for HygieneError {
    fn from(e: ParseIntError) -> Self {
        HygieneError::Parse(e)
    }
}

/// A unit fn.
#[instrument]
pub fn unit() {}

/// A value-returning fn with every kind of field.
#[must_use]
#[instrument(
    level = "debug",
    fields(n, %label, label.dbg = ?label, doubled = n * 2, text.len = label.len(), shown = %n)
)]
pub fn fields(n: u32, label: &str) -> u32 {
    n + 1
}

/// `?` converting through `From`, early `return`, `err` and `ret`.
///
/// # Errors
/// If `s` is not a number or is zero.
#[instrument(err, ret)]
pub fn parse(s: &str) -> Result<u32, HygieneError> {
    if s.is_empty() {
        return Err(HygieneError::Zero);
    }
    let n: u32 = s.parse()?;
    if n == 0 {
        return Err(HygieneError::Zero);
    }
    Ok(n)
}

/// `err(Debug)` and `ret(Display)` on a `Result` with a unit value.
///
/// # Errors
/// If `flag` is false.
#[instrument(err(Debug))]
pub fn check(flag: bool) -> Result<(), HygieneError> {
    if flag {
        Ok(())
    } else {
        Err(HygieneError::Zero)
    }
}

/// `ret(Display)` on a plain value.
#[must_use]
#[instrument(ret(Display))]
pub fn shout(s: &str) -> String {
    s.to_uppercase()
}

/// Generic, with a where clause.
#[must_use]
#[instrument(skip_all)]
pub fn largest<T>(items: &[T]) -> Option<&T>
where
    T: Ord,
{
    items.iter().max()
}

/// Returns `impl Iterator` borrowing its argument.
#[instrument(skip(items))]
pub fn odd(items: &[u8]) -> impl Iterator<Item = &u8> + '_ {
    items.iter().filter(|x| *x % 2 == 1)
}

/// Items at the top of the body, before any statement.
#[must_use]
#[instrument]
pub fn with_items(n: u32) -> u32 {
    const STEP: u32 = 2;
    fn step(x: u32) -> u32 {
        x + STEP
    }
    step(n)
}

/// `ret` on a unit fn, and a diverging branch.
#[instrument(ret)]
pub fn unit_ret(flag: bool) {
    assert!(flag, "flag must be set");
}

/// An explicit parent.
#[instrument(parent = parent)]
pub fn child(parent: Option<SpanContext>) {}

/// An async fn using `?` and `err`.
///
/// # Errors
/// As [`parse`].
#[instrument(err, fields(s))]
pub async fn parse_later(s: &str) -> Result<u32, HygieneError> {
    let n = parse(s)?;
    Ok(n + 1)
}

/// A struct with instrumented methods.
#[derive(Debug, Default)]
pub struct Counter {
    n: u64,
}

impl Counter {
    /// `&self`.
    #[must_use]
    #[instrument]
    pub fn get(&self) -> u64 {
        self.n
    }

    /// `&mut self`, returning a borrow of `self`.
    #[instrument(fields(by))]
    pub fn bump(&mut self, by: u64) -> &mut u64 {
        self.n += by;
        &mut self.n
    }

    /// `self`.
    #[must_use]
    #[instrument(ret)]
    pub fn into_inner(self) -> u64 {
        self.n
    }

    /// `async`, `&self`, returning a borrow.
    #[instrument]
    pub async fn later(&self) -> &u64 {
        &self.n
    }
}

/// A trait with an instrumented default method.
pub trait Describe {
    /// The thing's name.
    fn name(&self) -> String;

    /// Instrumented default method.
    #[instrument]
    fn describe(&self) -> String {
        format!("<{}>", self.name())
    }
}

impl Describe for Counter {
    #[instrument]
    fn name(&self) -> String {
        format!("counter {}", self.n)
    }
}

/// A function returning a future it builds (instrumented as the future).
///
/// # Errors
/// `Zero` for 0.
#[instrument(err, ret, fields(n))]
pub fn later_checked(n: u64) -> impl std::future::Future<Output = Result<u64, HygieneError>> {
    async move {
        if n == 0 {
            return Err(HygieneError::Zero);
        }
        Ok(n)
    }
}

/// The same, boxed.
#[must_use]
#[instrument(level = 2, follows_from = [cause], skip(cause))]
pub fn later_boxed(
    n: u64,
    cause: Option<SpanContext>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send>> {
    Box::pin(async move { n + 1 })
}

/// A trait implemented with `#[async_trait]`.
#[async_trait::async_trait]
pub trait Store {
    /// Reads a value.
    async fn read(&self, key: u64) -> Result<u64, HygieneError>;
}

#[async_trait::async_trait]
impl Store for Counter {
    #[instrument(skip(self), err(level = "warn"), fields(key, later = Empty))]
    async fn read(&self, key: u64) -> Result<u64, HygieneError> {
        if key == 0 {
            return Err(HygieneError::Zero);
        }
        Ok(self.n + key)
    }
}

use tracing_field::Empty;

/// A stand-in for `tracing::field::Empty` (this crate does not depend on tracing).
mod tracing_field {
    /// A field declared without a value.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Empty;
}
