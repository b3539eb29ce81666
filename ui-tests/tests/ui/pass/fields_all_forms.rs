// `fields(...)` with every form: `arg`, `%arg`, `?arg`, `key = expr`, `key = %expr`,
// `key = ?expr`, dotted keys and keyword segments.
use instrument_runtime::instrument;
use instrument_ui_tests::{attr_text, collect, only_span};

#[derive(Debug)]
struct User {
    id: u64,
    name: String,
}

#[instrument(fields(
    count,
    %label,
    ?user,
    answer = 6 * 7,
    user.name = %user.name,
    user.dbg = ?user.id,
    http.request.method = "GET",
    r#type = "kind",
    flag = count > 1,
))]
fn handle(count: u32, label: &str, user: &User) -> usize {
    label.len() + user.name.len()
}

fn main() {
    let (telemetry, collected) = collect();
    let user = User {
        id: 7,
        name: "ann".to_owned(),
    };
    assert_eq!(handle(2, "lbl", &user), 6);
    let s = only_span(&telemetry, &collected, "handle");
    let expected = [
        ("count", "I64(2)"),
        ("label", "lbl"),
        ("user", "User { id: 7, name: \"ann\" }"),
        ("answer", "I64(42)"),
        ("user.name", "ann"),
        ("user.dbg", "7"),
        ("http.request.method", "GET"),
        ("type", "kind"),
        ("flag", "Bool(true)"),
    ];
    for (key, value) in expected {
        assert_eq!(attr_text(&s, key).as_deref(), Some(value), "{key}: {s:#?}");
    }
}
