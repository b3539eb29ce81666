//! trybuild cases live in `tests/ui`; this library holds what the pass cases share (a test
//! pipeline and span look-ups) and [`hygiene`], instrumented code built under strict lints.

pub mod hygiene;

use std::time::Duration;

use instrument_runtime::export::{SpanData, Value};
use instrument_runtime::testing::{Collected, TestExporter};
use instrument_runtime::Telemetry;

/// Installs the pipeline with an in-memory exporter.
///
/// # Panics
/// If a pipeline is already installed in this process.
pub fn collect() -> (Telemetry, Collected) {
    let (exporter, collected) = TestExporter::new();
    // Every level recorded (`level = "debug"` spans included), whatever RUST_LOG says.
    let telemetry = instrument_runtime::builder()
        .exporter(exporter)
        .filter(instrument_runtime::Filter::from_level(
            instrument_runtime::LevelFilter::Trace,
        ))
        .install()
        .expect("install the test pipeline");
    (telemetry, collected)
}

/// Flushes, then returns the spans named `name`.
#[must_use]
pub fn spans(telemetry: &Telemetry, collected: &Collected, name: &str) -> Vec<SpanData> {
    telemetry.flush(Duration::from_secs(10));
    collected.spans_named(name)
}

/// The one span named `name` (flushing first).
///
/// # Panics
/// Unless exactly one span has that name.
#[must_use]
pub fn only_span(telemetry: &Telemetry, collected: &Collected, name: &str) -> SpanData {
    let mut found = spans(telemetry, collected, name);
    assert_eq!(found.len(), 1, "spans named {name}: {found:#?}");
    found.remove(0)
}

/// The value of attribute `key` of `span` (stored attributes only; labels: [`attr_text`]).
#[must_use]
pub fn attr<'s>(span: &'s SpanData, key: &str) -> Option<&'s Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| &kv.value)
}

/// The attribute `key` of `span` as text (`Str` as is, other values through `Debug`), the
/// call's labels included (`SpanData::all_attributes`).
#[must_use]
pub fn attr_text(span: &SpanData, key: &str) -> Option<String> {
    span.all_attributes()
        .find(|kv| kv.key == key)
        .map(|kv| match &kv.value {
            Value::Str(s) => s.to_string(),
            other => format!("{other:?}"),
        })
}
