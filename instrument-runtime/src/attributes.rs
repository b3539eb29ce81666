//! Attribute values made from user data: captured on the calling thread, truncated to a
//! configured maximum so a huge value cannot blow up memory or a collector's limits. Escaping
//! is the exporters' job (they encode whatever bytes a string holds).

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use crate::data::Value;
use crate::switches;

/// Marker appended to a truncated value.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// Truncates `s` to the configured maximum, at a char boundary, marking the cut.
pub(crate) fn truncate(mut s: String) -> String {
    let max = switches::max_value_len();
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(TRUNCATION_MARKER);
    }
    s
}

/// A string value from a `Display` impl, formatted on the calling thread.
pub(crate) fn display(v: &dyn fmt::Display) -> Value {
    let mut s = String::new();
    // A Display impl returning Err is a bug in that impl; keep what was written.
    let _ = write!(s, "{v}");
    Value::Str(Cow::Owned(truncate(s)))
}

/// A string value from a `Debug` impl.
pub(crate) fn debug(v: &dyn fmt::Debug) -> Value {
    let mut s = String::new();
    let _ = write!(s, "{v:?}");
    Value::Str(Cow::Owned(truncate(s)))
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
        Value::Str(Cow::Owned(truncate(self.to_owned())))
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
        let t = truncate(s);
        assert!(t.ends_with(TRUNCATION_MARKER));
        assert!(t.len() <= 4096 + TRUNCATION_MARKER.len());
        assert!(t
            .trim_end_matches(TRUNCATION_MARKER)
            .chars()
            .all(|c| c == 'é'));
        assert_eq!(truncate("short".into()), "short");
    }
}
