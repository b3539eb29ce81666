#![allow(non_snake_case)]
// User locals named like generated ones (`__instrument_span`, `__instrument_ret`, `span`,
// `ret`) neither break the expansion nor are captured by it.
use instrument_runtime::instrument;
use instrument_ui_tests::{attr_text, collect, only_span};

#[instrument(ret, fields(span, ret = span + 1))]
fn collide(span: u32) -> u32 {
    let __instrument_span = "user's";
    let __instrument_ret = 1;
    let __instrument_once = ();
    // The generated callsite static is hidden in a block: the body cannot see it.
    let __INSTRUMENT_CALLSITE = 2;
    let CALLSITE = 3;
    let callsite = 2;
    let ret = span * 10;
    assert_eq!(__instrument_span, "user's");
    let _ = __instrument_once;
    ret + __instrument_ret + callsite + __INSTRUMENT_CALLSITE + CALLSITE - 5
}

#[instrument]
async fn collide_async(__instrument_span: u32) -> u32 {
    let __instrument_ret = __instrument_span;
    __instrument_ret
}

fn main() {
    let (telemetry, collected) = collect();
    assert_eq!(collide(4), 43);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(collide_async(9)), 9);
    let span = only_span(&telemetry, &collected, "collide");
    assert_eq!(attr_text(&span, "span").as_deref(), Some("I64(4)"));
    assert_eq!(attr_text(&span, "ret").as_deref(), Some("I64(5)"));
    assert_eq!(attr_text(&span, "return").as_deref(), Some("43"));
}
