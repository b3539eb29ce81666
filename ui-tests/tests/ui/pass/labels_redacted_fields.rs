// Secret-like field names are accepted when redacted: the field is recorded as "[redacted]"
// and no value is evaluated or formatted. Names that merely contain a secret word as part of
// a longer word (`author`, `tokens_used`) are not secrets.
use instrument_runtime::instrument;

#[instrument(fields(user, password = redacted, http.authorization = redacted, author, tokens_used = 3))]
fn login(user: &str, password: &str, author: &str) -> bool {
    user.len() + author.len() > password.len()
}

fn main() {
    let (telemetry, collected) = instrument_ui_tests::collect();
    assert!(login("ada", "pw", "me"));
    let span = instrument_ui_tests::only_span(&telemetry, &collected, "login");
    assert_eq!(
        instrument_ui_tests::attr_text(&span, "password").as_deref(),
        Some("[redacted]")
    );
    assert_eq!(
        instrument_ui_tests::attr_text(&span, "http.authorization").as_deref(),
        Some("[redacted]")
    );
    assert_eq!(
        instrument_ui_tests::attr_text(&span, "user").as_deref(),
        Some("ada")
    );
    assert!(!format!("{span:?}").contains("\"pw\""));
}
