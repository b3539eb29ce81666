// `async fn` on a current-thread tokio runtime: value kept, parent links across `.await`.
use instrument_runtime::instrument;
use instrument_ui_tests::{collect, only_span};

#[instrument]
async fn leaf(x: u64) -> u64 {
    tokio::task::yield_now().await;
    x * 2
}

#[instrument]
async fn root(x: u64) -> u64 {
    let a = leaf(x).await;
    tokio::task::yield_now().await;
    a + leaf(1).await
}

#[instrument]
async fn borrows<'a>(s: &'a str, _unused: &str) -> &'a str {
    s.trim()
}

fn main() {
    let (telemetry, collected) = collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(root(20)), 42);
    assert_eq!(rt.block_on(borrows(" x ", "")), "x");
    let root = only_span(&telemetry, &collected, "root");
    let leaves = collected.spans_named("leaf");
    assert_eq!(leaves.len(), 2);
    for leaf in &leaves {
        assert_eq!(leaf.parent_span_id, Some(root.span_id));
        assert_eq!(leaf.trace_id, root.trace_id);
    }
    assert_eq!(root.parent_span_id, None);
}
