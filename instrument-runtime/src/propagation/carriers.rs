//! Carriers: where headers are read from ([`Extractor`]) and written to ([`Injector`]).

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Read access to a carrier of string headers (HTTP headers, message metadata...).
///
/// Header names are case-insensitive: implementations must find `key` whatever its case.
pub trait Extractor {
    /// One value of header `key` (any case), if present.
    fn get(&self, key: &str) -> Option<&str>;

    /// Every value of header `key` (any case), in order. The default returns [`Extractor::get`]'s
    /// value only; carriers that can hold repeated headers should override it, so that duplicate
    /// `traceparent` headers are detected and `tracestate` headers are combined.
    fn get_all(&self, key: &str) -> Vec<&str> {
        self.get(key).into_iter().collect()
    }
}

/// Write access to a carrier of string headers.
pub trait Injector {
    /// Sets header `key` to `value`, replacing any previous value of that header.
    fn set(&mut self, key: &str, value: String);
}

/// Header names are matched case-insensitively: the exact key is tried first, then every key is
/// scanned. [`Extractor::get_all`] returns the values of all keys that match, sorted by key, so
/// a map holding both `traceparent` and `TraceParent` has a duplicated `traceparent`.
impl<S: BuildHasher> Extractor for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        HashMap::get(self, key)
            .or_else(|| {
                self.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }

    fn get_all(&self, key: &str) -> Vec<&str> {
        let mut matches: Vec<(&String, &String)> = self
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .collect();
        matches.sort_unstable_by_key(|(k, _)| *k);
        matches.into_iter().map(|(_, v)| v.as_str()).collect()
    }
}

/// Removes every key equal to `key` ignoring case, then inserts `key` as given (the crate always
/// passes lowercase names).
impl<S: BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(key));
        self.insert(key.to_owned(), value);
    }
}

#[cfg(feature = "http")]
mod http_carrier {
    //! `http::HeaderMap` as a carrier (feature `http`).

    use super::{Extractor, Injector};
    use http::{HeaderMap, HeaderName, HeaderValue};

    /// Stands in for a header value that is not visible ASCII: it is invalid as a `traceparent`
    /// and as a `tracestate` member, so such a header is rejected rather than silently skipped.
    const UNREADABLE: &str = "\u{fffd}";

    /// `HeaderMap` lookups are case-insensitive; repeated headers are all returned in order.
    impl Extractor for HeaderMap {
        fn get(&self, key: &str) -> Option<&str> {
            HeaderMap::get(self, key).map(|v| v.to_str().unwrap_or(UNREADABLE))
        }

        fn get_all(&self, key: &str) -> Vec<&str> {
            HeaderMap::get_all(self, key)
                .iter()
                .map(|v| v.to_str().unwrap_or(UNREADABLE))
                .collect()
        }
    }

    /// Replaces every value of the header. A name or value that is not a valid HTTP header is
    /// skipped (it cannot be produced by [`inject_context`](crate::propagation::inject_context)).
    impl Injector for HeaderMap {
        fn set(&mut self, key: &str, value: String) {
            let name = HeaderName::from_bytes(key.as_bytes());
            let value = HeaderValue::try_from(value);
            if let (Ok(name), Ok(value)) = (name, value) {
                self.insert(name, value);
            }
        }
    }
}
