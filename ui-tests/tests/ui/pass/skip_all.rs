// `skip_all` and `skip(...)` are accepted for tracing compatibility; nothing is captured.
use instrument_runtime::instrument;
use instrument_ui_tests::{collect, only_span};

#[instrument(skip_all)]
fn login(user: &str, password: &str) -> bool {
    user.len() == password.len()
}

#[instrument(skip(password), fields(user))]
fn login_named(user: &str, password: &str) -> bool {
    user.len() == password.len()
}

fn main() {
    let (telemetry, collected) = collect();
    assert!(login("ab", "cd"));
    assert!(!login_named("ab", "cde"));
    assert!(only_span(&telemetry, &collected, "login")
        .attributes
        .is_empty());
    let named = only_span(&telemetry, &collected, "login_named");
    assert_eq!(named.attributes.len(), 1);
    assert_eq!(named.attributes[0].key, "user");
}
