// Every argument form `tracing::instrument` accepts, with tracing's meaning: a bare `"name"`,
// `name`/`target` as constants, `level` as tracing's or our `Level` path or as 1..=5,
// `skip(self)`, `fields({CONST} = ..)`, fields declared without a value (`fields(user)` when
// `user` is not a parameter, `= Empty`, `= tracing::field::Empty`), `err(level = ..)`,
// `err(Display)`, `ret(level = ..)` and `follows_from`.
use instrument_runtime::export::{SpanStatus, Value};
use tracing::field::Empty;
use instrument_runtime::{current_span_context, instrument, Level};
use instrument_ui_tests::{attr, attr_text, collect, only_span};

const NAME: &str = "named_by_const";
const TARGET: &str = "my::target";
const KEY: &str = "from.const";

#[instrument("bare_name")]
fn bare() {}

#[instrument(name = NAME, target = TARGET)]
fn by_const() {}

#[instrument(level = tracing::Level::DEBUG)]
fn tracing_level() {}

#[instrument(level = Level::Warn)]
fn our_level() {}

#[instrument(level = 5)]
fn numeric_level() {}

#[instrument(level = "Trace")]
fn any_case_level() {}

struct Service {
    secret_sauce: u32,
}

impl Service {
    #[instrument(skip(self), fields({KEY} = 7, user, later = Empty, also = tracing::field::Empty))]
    fn call(&self, n: u32) -> u32 {
        self.secret_sauce + n
    }
}

#[instrument(err(level = "warn"))]
fn warns() -> Result<(), String> {
    Err("soft failure".to_owned())
}

#[instrument(err(Display, level = Level::Error))]
fn errors() -> Result<(), String> {
    Err("hard failure".to_owned())
}

#[instrument(ret(level = tracing::Level::INFO))]
fn returns() -> u32 {
    42
}

#[instrument]
fn cause() -> instrument_runtime::SpanContext {
    current_span_context().expect("inside its own span")
}

#[instrument(follows_from = [cause_ctx])]
fn effect(cause_ctx: instrument_runtime::SpanContext) {}

fn main() {
    let (telemetry, collected) = collect();
    bare();
    by_const();
    tracing_level();
    our_level();
    numeric_level();
    any_case_level();
    assert_eq!(Service { secret_sauce: 1 }.call(2), 3);
    assert!(warns().is_err());
    assert!(errors().is_err());
    assert_eq!(returns(), 42);
    let ctx = cause();
    effect(ctx);

    let _ = only_span(&telemetry, &collected, "bare_name");
    let s = only_span(&telemetry, &collected, "named_by_const");
    assert_eq!(s.target, "my::target");
    assert_eq!(only_span(&telemetry, &collected, "tracing_level").level, Level::Debug);
    assert_eq!(only_span(&telemetry, &collected, "our_level").level, Level::Warn);
    assert_eq!(only_span(&telemetry, &collected, "numeric_level").level, Level::Error);
    assert_eq!(only_span(&telemetry, &collected, "any_case_level").level, Level::Trace);

    let call = only_span(&telemetry, &collected, "call");
    assert_eq!(attr(&call, "from.const"), Some(&Value::I64(7)));
    // Declared, not recorded: nothing until a value is recorded later.
    for declared in ["user", "later", "also"] {
        assert!(attr(&call, declared).is_none(), "{declared}: {call:?}");
    }
    assert_eq!(call.attributes.len(), 1, "{call:?}");

    let warned = only_span(&telemetry, &collected, "warns");
    assert!(matches!(warned.status, SpanStatus::Error { .. }), "{warned:?}");
    assert_eq!(attr_text(&warned, "error.message").as_deref(), Some("soft failure"));
    let logs = collected.logs();
    let soft: Vec<_> = logs.iter().filter(|l| l.body == "soft failure").collect();
    assert_eq!(soft.len(), 1);
    assert_eq!(soft[0].level, Level::Warn);
    assert_eq!(soft[0].span_id, Some(warned.span_id));
    let hard: Vec<_> = logs.iter().filter(|l| l.body == "hard failure").collect();
    assert_eq!(hard.len(), 1);
    assert_eq!(hard[0].level, Level::Error);

    let ret = only_span(&telemetry, &collected, "returns");
    assert_eq!(attr_text(&ret, "return").as_deref(), Some("42"));

    let effect = only_span(&telemetry, &collected, "effect");
    let link = format!("{}-{}", ctx.trace_id, ctx.span_id);
    assert_eq!(attr_text(&effect, "follows_from"), Some(link));
}
