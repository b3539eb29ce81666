//! Names `#[instrument]` refuses: label names that identify a person, request or session, the
//! label names the exporter writes itself, and span field names that look like secrets.
//! Names are compared in `snake_case` (`userId` is `user_id`), word by word for secrets.

use crate::label::case;

/// Label names that identify a person, request or session: a label with one of these names
/// would be one time series per person or request ([issue 3]).
///
/// [issue 3]: https://example.invalid/instrument/issues/3
pub(crate) const IDENTIFYING: &[&str] = &[
    "user_id",
    "user",
    "customer_id",
    "account_id",
    "session_id",
    "request_id",
    "trace_id",
    "span_id",
    "email",
    "ip",
    "ip_address",
    "url",
    "path",
    "uri",
    "query",
    "token",
    "uuid",
    "id",
];

/// Suffixes of identifying label names (`order_id`, `item_ids`, `device_uuid`).
pub(crate) const IDENTIFYING_SUFFIXES: &[&str] = &["_id", "_ids", "_uuid"];

/// Label names the exporter writes on `function_calls_*` itself (`le`: histogram buckets).
pub(crate) const RESERVED: &[&str] = &["function", "module", "result", "error", "le"];

/// Words that make a span field name look like a secret, alone or as a `_`/`.`-separated
/// word of a longer name (`access_token`, `http.authorization`, `db_password`).
pub(crate) const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "authorization",
    "auth",
    "cookie",
    "cookies",
    "credential",
    "credentials",
    "bearer",
    "jwt",
    "privkey",
];

/// Two-word secrets (`api_key`, and so `x_api_key`; `private_key`, `signing_key`).
pub(crate) const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("access", "key"),
    ("signing", "key"),
    ("encryption", "key"),
    ("session", "key"),
    ("set", "cookie"),
];

/// `Some(snake_name)` if the label name identifies a person, request or session.
pub(crate) fn identifying(name: &str) -> Option<String> {
    let snake = case::snake(name);
    let refused = IDENTIFYING.contains(&snake.as_str())
        || IDENTIFYING_SUFFIXES.iter().any(|s| snake.ends_with(s));
    refused.then_some(snake)
}

/// `true` if the label name is one the exporter writes itself, or reserved by Prometheus
/// (`__` prefix).
pub(crate) fn reserved(name: &str) -> bool {
    RESERVED.contains(&name) || name.starts_with("__")
}

/// The secret-like word of a field name, if any (`Some("token")` for `access_token`).
pub(crate) fn secret_word(name: &str) -> Option<String> {
    let words: Vec<String> = case::words(name).iter().map(|w| w.to_lowercase()).collect();
    if let Some(w) = words.iter().find(|w| SECRET_WORDS.contains(&w.as_str())) {
        return Some(w.clone());
    }
    words.windows(2).find_map(|pair| {
        SECRET_PAIRS
            .iter()
            .any(|(a, b)| pair[0] == *a && pair[1] == *b)
            .then(|| format!("{}_{}", pair[0], pair[1]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifying_names() {
        for name in [
            "user_id",
            "userId",
            "id",
            "order_id",
            "item_ids",
            "device_uuid",
            "email",
        ] {
            assert!(identifying(name).is_some(), "{name}");
        }
        for name in ["method", "tier", "region", "idle", "valid", "status_code"] {
            assert!(identifying(name).is_none(), "{name}");
        }
    }

    #[test]
    fn secret_names() {
        let cases = [
            ("password", Some("password")),
            ("db_password", Some("password")),
            ("access_token", Some("token")),
            ("http.authorization", Some("authorization")),
            ("x_api_key", Some("api_key")),
            ("apiKey", Some("api_key")),
            ("set_cookie", Some("cookie")),
            ("private_key", Some("private_key")),
            ("client_secret", Some("secret")),
            ("tokens_used", None),
            ("author", None),
            ("cache_key", None),
            ("keyboard", None),
        ];
        for (name, expected) in cases {
            assert_eq!(secret_word(name).as_deref(), expected, "{name}");
        }
    }
}
