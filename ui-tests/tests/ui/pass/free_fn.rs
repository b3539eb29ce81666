// A plain free fn keeps its signature and value; `name`, `level` and `target` reach the span.
use instrument_runtime::{instrument, Level};
use instrument_ui_tests::{collect, only_span};

#[instrument]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[instrument(name = "renamed", level = "DEBUG", target = "my::target")]
fn configured() {}

fn main() {
    let (telemetry, collected) = collect();
    assert_eq!(add(2, 3), 5);
    configured();
    let span = only_span(&telemetry, &collected, "add");
    assert!(
        span.attributes.is_empty(),
        "arguments are not captured by default"
    );
    let span = only_span(&telemetry, &collected, "renamed");
    assert_eq!(span.level, Level::Debug);
    assert_eq!(span.target, "my::target");
    assert_eq!(span.module_path, module_path!());
}
