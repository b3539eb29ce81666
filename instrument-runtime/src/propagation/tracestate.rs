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

/// How many traces' `tracestate` this process keeps for forwarding (the oldest is forgotten
/// first). A `tracestate` is at most [`MAX_TRACESTATE_LEN`] bytes, so this bounds the memory.
pub const MAX_REMEMBERED_TRACESTATES: usize = 1024;

/// The `tracestate` received for each trace continued in this process, so every span of that
/// trace (the remote parent's direct child and its descendants, on any thread) forwards it on
/// the next hop. Keyed by trace id: `tracestate` belongs to the trace, and this process never
/// changes it.
mod remembered {
    use std::collections::{HashMap, VecDeque};
    use std::sync::Mutex;

    use super::MAX_REMEMBERED_TRACESTATES;
    use crate::TraceId;

    #[derive(Default)]
    pub(super) struct Store {
        by_trace: HashMap<TraceId, String>,
        /// Insertion order, oldest first (each trace id once).
        order: VecDeque<TraceId>,
    }

    static STORE: Mutex<Option<Store>> = Mutex::new(None);

    fn with<R>(f: impl FnOnce(&mut Store) -> R) -> R {
        // A panic while holding the lock cannot leave the store inconsistent in a way that
        // matters (at worst one entry is missing from `order`), so a poisoned lock is used.
        let mut guard = STORE.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.get_or_insert_with(Store::default))
    }

    impl Store {
        pub(super) fn remember(&mut self, trace: TraceId, state: &str) {
            if let Some(old) = self.by_trace.get_mut(&trace) {
                state.clone_into(old);
                return;
            }
            if self.order.len() >= MAX_REMEMBERED_TRACESTATES {
                if let Some(oldest) = self.order.pop_front() {
                    self.by_trace.remove(&oldest);
                }
            }
            self.order.push_back(trace);
            self.by_trace.insert(trace, state.to_owned());
        }

        pub(super) fn recall(&self, trace: TraceId) -> Option<String> {
            self.by_trace.get(&trace).cloned()
        }
    }

    /// Remembers `state` as the `tracestate` of `trace`.
    pub(crate) fn remember(trace: TraceId, state: &str) {
        with(|s| s.remember(trace, state));
    }

    /// The `tracestate` remembered for `trace`, if any.
    pub(crate) fn recall(trace: TraceId) -> Option<String> {
        with(|s| s.recall(trace))
    }
}

pub(crate) use remembered::{recall, remember};

#[cfg(test)]
mod tests {
    use super::remembered::Store;
    use super::MAX_REMEMBERED_TRACESTATES;
    use crate::TraceId;

    #[test]
    fn remembered_tracestates_are_bounded_oldest_first() {
        let id = |n: usize| TraceId::from_u128(0xabc0 << 112 | n as u128);
        let mut store = Store::default();
        for n in 0..=MAX_REMEMBERED_TRACESTATES {
            store.remember(id(n), &format!("k={n}"));
        }
        assert_eq!(store.recall(id(0)), None, "the oldest is forgotten");
        assert_eq!(store.recall(id(1)).as_deref(), Some("k=1"));
        let last = MAX_REMEMBERED_TRACESTATES;
        assert_eq!(store.recall(id(last)), Some(format!("k={last}")));
        store.remember(id(1), "k=new");
        assert_eq!(
            store.recall(id(1)).as_deref(),
            Some("k=new"),
            "a trace's state is replaced"
        );
    }
}
