// `fields(name)` for a name that is not a parameter declares a field to be recorded later
// (tracing's meaning), as does `name = Empty`; a parameter's name still captures it.
use tracing::field::Empty;
use instrument_runtime::instrument;
use instrument_runtime::export::Value;
use instrument_ui_tests::{attr, collect, only_span};

#[instrument(fields(user_name, id, status = Empty))]
fn handle(id: u64) -> u64 {
    id
}

fn main() {
    let (telemetry, collected) = collect();
    assert_eq!(handle(3), 3);
    let span = only_span(&telemetry, &collected, "handle");
    assert_eq!(attr(&span, "id"), Some(&Value::I64(3)));
    assert!(attr(&span, "user_name").is_none());
    assert!(attr(&span, "status").is_none());
}
