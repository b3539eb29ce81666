//! The `tracestate` header: combining, validating and normalising its values.

use super::traceparent::trim_ows;
use super::{MAX_TRACESTATE_LEN, MAX_TRACESTATE_MEMBERS};

/// Combines `tracestate` header values (in order, joined by `,` as RFC 7230 says) and validates
/// them. Returns the normalised list (optional whitespace and empty members removed), or `None`
/// if there is no member or the header is invalid, in which case it must be dropped.
///
/// Invalid means: more than [`MAX_TRACESTATE_MEMBERS`] members, a duplicated key, a member that
/// is not `key=value` by the spec's grammar, or more than [`MAX_TRACESTATE_LEN`] bytes in total.
/// Keys follow the Level 1 grammar (`simple-key` or `tenant@system`, with Level 2's relaxation
/// that a key may start with a digit); values are 1 to 256 printable ASCII characters other
/// than `,` and `=`, not ending in a space.
///
/// ```
/// use instrument_runtime::propagation::parse_tracestate;
/// assert_eq!(parse_tracestate(["rojo=1, congo=2", ""]).as_deref(), Some("rojo=1,congo=2"));
/// assert_eq!(parse_tracestate(["foo=1,foo=2"]), None);
/// ```
pub fn parse_tracestate<'a, I>(values: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut out = String::new();
    let mut keys: Vec<&str> = Vec::new();
    let mut total = 0usize;
    for value in values {
        total = total.saturating_add(value.len() + 1);
        if total > MAX_TRACESTATE_LEN + 1 {
            return None;
        }
        for member in value.split(',').map(trim_ows).filter(|m| !m.is_empty()) {
            let key = validate_member(member)?;
            if keys.len() == MAX_TRACESTATE_MEMBERS || keys.contains(&key) {
                return None;
            }
            keys.push(key);
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(member);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Checks one non-empty, trimmed `key=value` list member and returns its key.
fn validate_member(member: &str) -> Option<&str> {
    let (key, value) = member.split_once('=')?;
    (is_valid_key(key) && is_valid_value(value)).then_some(key)
}

fn is_valid_key(key: &str) -> bool {
    match key.split_once('@') {
        None => is_key_part(key, 256, |c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        Some((tenant, system)) => {
            is_key_part(tenant, 241, |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit()
            }) && is_key_part(system, 14, |c| c.is_ascii_lowercase())
        }
    }
}

/// 1..=`max` key characters (`a-z 0-9 _ - * /`), the first one accepted by `first`.
fn is_key_part(part: &str, max: usize, first: fn(&u8) -> bool) -> bool {
    let b = part.as_bytes();
    let is_keychar = |c: &u8| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(*c, b'_' | b'-' | b'*' | b'/')
    };
    !b.is_empty() && b.len() <= max && first(&b[0]) && b.iter().all(is_keychar)
}

fn is_valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    let is_chr = |c: &u8| matches!(*c, 0x20..=0x7e) && *c != b',' && *c != b'=';
    !b.is_empty() && b.len() <= 256 && b.iter().all(is_chr) && b.last() != Some(&b' ')
}
