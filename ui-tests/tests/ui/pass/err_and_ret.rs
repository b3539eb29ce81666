// `err` (Display), `err(Debug)`, `ret` (Debug) and `ret(Display)` record what they should.
use instrument_runtime::export::SpanStatus;
use instrument_runtime::instrument;
use instrument_ui_tests::{attr_text, collect, only_span};

#[derive(Debug)]
struct Oops {
    code: u16,
}

impl std::fmt::Display for Oops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oops {}", self.code)
    }
}

#[instrument(err)]
fn display_err() -> Result<(), Oops> {
    Err(Oops { code: 1 })
}

#[instrument(err(Debug))]
fn debug_err() -> Result<(), Oops> {
    Err(Oops { code: 2 })
}

#[instrument(ret)]
fn debug_ret() -> &'static str {
    "quoted"
}

// With `err`, `ret` records the `Ok` value ("5"), as tracing does.
#[instrument(ret, err)]
fn both() -> Result<u8, Oops> {
    Ok(5)
}

// With `err`, `ret(Display)` formats the `Ok` value.
#[instrument(ret(Display), err)]
fn display_ok() -> Result<String, Oops> {
    Ok("plain".to_owned())
}

#[instrument(ret(Display))]
fn display_ret_plain() -> &'static str {
    "shown"
}

fn message(status: &SpanStatus) -> &str {
    match status {
        SpanStatus::Error { message } => message,
        other => panic!("not an error: {other:?}"),
    }
}

fn main() {
    let (telemetry, collected) = collect();
    assert!(display_err().is_err());
    assert!(debug_err().is_err());
    assert_eq!(debug_ret(), "quoted");
    assert_eq!(both().unwrap(), 5);
    assert_eq!(display_ok().unwrap(), "plain");
    assert_eq!(display_ret_plain(), "shown");
    let s = only_span(&telemetry, &collected, "display_err");
    assert_eq!(message(&s.status), "oops 1");
    let s = only_span(&telemetry, &collected, "debug_err");
    assert_eq!(message(&s.status), "Oops { code: 2 }");
    let s = only_span(&telemetry, &collected, "debug_ret");
    assert_eq!(attr_text(&s, "return").as_deref(), Some("\"quoted\""));
    let s = only_span(&telemetry, &collected, "both");
    assert_eq!(attr_text(&s, "return").as_deref(), Some("5"));
    let s = only_span(&telemetry, &collected, "display_ok");
    assert_eq!(attr_text(&s, "return").as_deref(), Some("plain"));
    let s = only_span(&telemetry, &collected, "display_ret_plain");
    assert_eq!(attr_text(&s, "return").as_deref(), Some("shown"));
}
