//! Temporary runner for the labels cases only (deleted once the shared runner is used).
#[test]
fn labels_ui() {
    let t = trybuild::TestCases::new();
    if let Ok(filter) = std::env::var("LABELS_CASE") {
        if filter.starts_with("pass/") {
            t.pass(format!("tests/ui/{filter}.rs"));
        } else {
            t.compile_fail(format!("tests/ui/{filter}.rs"));
        }
        return;
    }
    t.compile_fail("tests/ui/fail/labels/*.rs");
    t.pass("tests/ui/pass/labels_*.rs");
}
