//! Attribute values made from user data: captured on the calling thread, truncated to a
//! configured maximum so a huge value cannot blow up memory or a collector's limits. Escaping
//! is the exporters' job (they encode whatever bytes a string holds).

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use crate::data::Value;
use crate::switches;

/// Marker appended to a truncated value.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// The largest char boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut cut = at.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

/// A `fmt::Write` that keeps at most `max` bytes and then stops the formatting (it returns
/// `fmt::Error`, which well-behaved `Display`/`Debug` impls propagate with `?`), so a huge
/// value costs about what the limit costs and no full-size intermediate is ever made. Its
/// buffer grows by doubling but never beyond `max` + the marker.
pub(crate) struct Bounded {
    buf: String,
    max: usize,
    truncated: bool,
}

impl Bounded {
    /// A writer bounded by the configured maximum value length.
    pub(crate) fn new() -> Bounded {
        Bounded {
            buf: String::new(),
            max: switches::max_value_len(),
            truncated: false,
        }
    }

    /// The kept text, with the marker if something was cut.
    pub(crate) fn finish(mut self) -> String {
        if self.truncated {
            self.reserve(TRUNCATION_MARKER.len());
            self.buf.push_str(TRUNCATION_MARKER);
        }
        self.buf
    }

    /// Makes room for `more` bytes without letting the capacity pass `max` + marker.
    fn reserve(&mut self, more: usize) {
        let needed = self.buf.len() + more;
        if needed <= self.buf.capacity() {
            return;
        }
        let cap = (self.buf.capacity() * 2)
            .max(needed)
            .max(32)
            .min(self.max + TRUNCATION_MARKER.len())
            .max(needed);
        self.buf.reserve_exact(cap - self.buf.len());
    }
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.truncated {
            return Err(fmt::Error);
        }
        let room = self.max - self.buf.len();
        if s.len() <= room {
            self.reserve(s.len());
            self.buf.push_str(s);
            return Ok(());
        }
        let kept = &s[..floor_char_boundary(s, room)];
        self.reserve(kept.len());
        self.buf.push_str(kept);
        self.truncated = true;
        Err(fmt::Error)
    }
}

/// `args` formatted on the calling thread, cut at the configured maximum while formatting.
pub(crate) fn bounded_args(args: fmt::Arguments<'_>) -> String {
    if let Some(s) = args.as_str() {
        return bounded_str(s);
    }
    let mut w = Bounded::new();
    // An Err is either our stop at the limit or a bug in a user impl; keep what was written.
    let _ = w.write_fmt(args);
    w.finish()
}

/// A copy of at most the configured maximum of `s` (never a full-size copy).
pub(crate) fn bounded_str(s: &str) -> String {
    let max = switches::max_value_len();
    if s.len() <= max {
        return s.to_owned();
    }
    let kept = &s[..floor_char_boundary(s, max)];
    let mut out = String::with_capacity(kept.len() + TRUNCATION_MARKER.len());
    out.push_str(kept);
    out.push_str(TRUNCATION_MARKER);
    out
}

/// A `Display` value as a string, cut at the configured maximum while formatting.
pub(crate) fn display_string(v: &dyn fmt::Display) -> String {
    bounded_args(format_args!("{v}"))
}

/// A string value from a `Display` impl, formatted on the calling thread.
pub(crate) fn display(v: &dyn fmt::Display) -> Value {
    Value::Str(Cow::Owned(display_string(v)))
}

/// A string value from a `Debug` impl.
pub(crate) fn debug(v: &dyn fmt::Debug) -> Value {
    Value::Str(Cow::Owned(bounded_args(format_args!("{v:?}"))))
}

/// Shows a `Debug` value through `Display`.
pub(crate) struct DebugAsDisplay<'a>(pub(crate) &'a dyn fmt::Debug);

impl fmt::Display for DebugAsDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Types recordable as a span field without a `%` (Display) or `?` (Debug) sigil.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as a span field as it is",
    label = "this field's value",
    note = "write `fields(name = %value)` to record its `Display` form, or `fields(name = ?value)` for its `Debug` form"
)]
pub trait FieldValue {
    /// The attribute value.
    fn to_value(&self) -> Value;
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            #[allow(clippy::cast_possible_wrap, clippy::cast_lossless)]
            fn to_value(&self) -> Value {
                Value::I64(*self as i64)
            }
        }
    )*};
}
int_field!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl FieldValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}
impl FieldValue for f64 {
    fn to_value(&self) -> Value {
        Value::F64(*self)
    }
}
impl FieldValue for f32 {
    fn to_value(&self) -> Value {
        Value::F64(f64::from(*self))
    }
}
impl FieldValue for str {
    fn to_value(&self) -> Value {
        Value::Str(Cow::Owned(bounded_str(self)))
    }
}
impl FieldValue for String {
    fn to_value(&self) -> Value {
        self.as_str().to_value()
    }
}
impl<T: FieldValue + ?Sized> FieldValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: FieldValue + ?Sized> FieldValue for &mut T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: FieldValue + ?Sized> FieldValue for Box<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: FieldValue> FieldValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Str(Cow::Borrowed("none")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_at_char_boundary() {
        let s = "é".repeat(5000); // 10_000 bytes
        let t = bounded_str(&s);
        assert!(t.ends_with(TRUNCATION_MARKER));
        assert!(t.len() <= 4096 + TRUNCATION_MARKER.len());
        assert!(t
            .trim_end_matches(TRUNCATION_MARKER)
            .chars()
            .all(|c| c == 'é'));
        assert_eq!(bounded_str("short"), "short");
    }

    #[test]
    fn bounded_writer_stops_at_the_limit() {
        struct Endless;
        impl fmt::Display for Endless {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                loop {
                    f.write_str("é-")?; // 3 bytes: the cut falls inside a char
                }
            }
        }
        let max = switches::max_value_len();
        let s = display_string(&Endless);
        assert!(s.ends_with(TRUNCATION_MARKER));
        assert!(s.len() <= max + TRUNCATION_MARKER.len());
        assert!(
            s.capacity() <= max + TRUNCATION_MARKER.len(),
            "{}",
            s.capacity()
        );
        assert!(s.trim_end_matches(TRUNCATION_MARKER).len() > max - 3);
        assert_eq!(display_string(&"short"), "short");
        assert_eq!(bounded_str(&"x".repeat(max)), "x".repeat(max));
        assert_eq!(
            bounded_str(&"x".repeat(max + 1)).len(),
            max + TRUNCATION_MARKER.len()
        );
    }
}
