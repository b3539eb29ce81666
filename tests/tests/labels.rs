//! Labelled call metrics (issue 3): calls with different label values land in their own series
//! with exact counts, the `error` label of `error_label` carries the error's variant, and the
//! labels are attributes of the call's span.
//!
//! Every test in this binary shares one process-global pipeline, installed once; each test
//! calls only its own functions and reads only their series.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use instrument_runtime::export::{MetricData, SpanData, Value};
use instrument_runtime::testing::{Collected, TestExporter};
use instrument_runtime::{instrument, Label, Telemetry, CALLS_DURATION, CALLS_TOTAL};

const T: Duration = Duration::from_secs(30);

fn pipeline() -> &'static (Telemetry, Collected) {
    static PIPELINE: OnceLock<(Telemetry, Collected)> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let (exporter, collected) = TestExporter::new();
        let telemetry = instrument_runtime::builder()
            .exporter(exporter)
            .sample_ratio(1.0)
            .install()
            .expect("install the test pipeline");
        (telemetry, collected)
    })
}

fn flush() -> &'static Collected {
    let (telemetry, collected) = pipeline();
    assert!(telemetry.flush(T).completed, "flush did not complete");
    collected
}

/// `function_calls_total` of `function`: labels after `function` and `module` -> count.
fn series(metric: &str, function: &str) -> BTreeMap<Vec<(String, String)>, u64> {
    let snapshot = flush().metrics().expect("a metrics snapshot");
    let metric = snapshot.get(metric).expect("the metric");
    let points: Vec<(&Vec<_>, u64)> = match &metric.data {
        MetricData::Counter(points) => points.iter().map(|p| (&p.labels, p.value)).collect(),
        MetricData::Histogram(points) => points.iter().map(|p| (&p.labels, p.count)).collect(),
        MetricData::Gauge(_) => panic!("{metric:?} is a gauge"),
    };
    let mut out = BTreeMap::new();
    for (labels, value) in points {
        if !labels.iter().any(|(k, v)| k == "function" && v == function) {
            continue;
        }
        let keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(&keys[..3], ["function", "module", "result"], "{labels:?}");
        let rest = labels[2..]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(
            out.insert(rest, value).is_none(),
            "series exported twice: {labels:?}"
        );
    }
    out
}

/// Expected series: `[("result", "ok"), ("method", "get"), ...] -> count`.
fn expected<const N: usize>(
    rows: &[([(&str, &str); N], u64)],
) -> BTreeMap<Vec<(String, String)>, u64> {
    rows.iter()
        .map(|(labels, count)| {
            let labels = labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            (labels, *count)
        })
        .collect()
}

fn spans(name: &str) -> Vec<SpanData> {
    flush().spans_named(name)
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.all_attributes()
        .find(|kv| kv.key == key)
        .map(|kv| match &kv.value {
            Value::Str(s) => s.to_string(),
            other => format!("{other:?}"),
        })
}

#[derive(Label, Clone, Copy, Debug)]
enum Method {
    Get,
    Post,
    Delete,
}

#[derive(Label, Clone, Copy, Debug)]
#[label(rename_all = "kebab-case")]
enum Tier {
    FreeTrial,
    #[label(rename = "pro")]
    Professional,
}

#[derive(Label, Debug, PartialEq)]
enum FetchError {
    NotFound,
    Timeout,
}

#[instrument(labels(method, tier, region = "eu-west-1"))]
fn route(method: Method, tier: Option<Tier>) {}

#[test]
fn calls_land_in_their_series_with_exact_counts() {
    pipeline();
    for _ in 0..3 {
        route(Method::Get, None);
    }
    for _ in 0..2 {
        route(Method::Post, Some(Tier::Professional));
    }
    route(Method::Delete, Some(Tier::FreeTrial));
    route(Method::Get, Some(Tier::FreeTrial));
    let want = expected(&[
        (
            [
                ("result", "ok"),
                ("method", "get"),
                ("tier", "none"),
                ("region", "eu-west-1"),
            ],
            3,
        ),
        (
            [
                ("result", "ok"),
                ("method", "post"),
                ("tier", "pro"),
                ("region", "eu-west-1"),
            ],
            2,
        ),
        (
            [
                ("result", "ok"),
                ("method", "delete"),
                ("tier", "free-trial"),
                ("region", "eu-west-1"),
            ],
            1,
        ),
        (
            [
                ("result", "ok"),
                ("method", "get"),
                ("tier", "free-trial"),
                ("region", "eu-west-1"),
            ],
            1,
        ),
    ]);
    assert_eq!(series(CALLS_TOTAL, "route"), want);
    assert_eq!(
        series(CALLS_DURATION, "route"),
        want,
        "the histogram has the same series"
    );
}

#[instrument(labels(slow = key > 9), error_label)]
fn fetch(key: u8) -> Result<u8, FetchError> {
    match key % 4 {
        0 | 1 => Ok(key),
        2 => Err(FetchError::NotFound),
        _ => Err(FetchError::Timeout),
    }
}

#[test]
fn error_label_carries_the_variant() {
    pipeline();
    for key in [0, 1, 2, 2, 6, 3, 15] {
        let _ = fetch(key);
    }
    let want = expected(&[
        ([("result", "ok"), ("slow", "false"), ("error", "none")], 2),
        (
            [
                ("result", "error"),
                ("slow", "false"),
                ("error", "not_found"),
            ],
            3,
        ),
        (
            [("result", "error"), ("slow", "false"), ("error", "timeout")],
            1,
        ),
        (
            [("result", "error"), ("slow", "true"), ("error", "timeout")],
            1,
        ),
    ]);
    assert_eq!(series(CALLS_TOTAL, "fetch"), want);
}

#[instrument(labels(method), error_label)]
fn explode(method: Method) -> Result<(), FetchError> {
    panic!("boom")
}

#[test]
fn a_panic_is_an_error_without_an_error_variant() {
    pipeline();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    assert!(std::panic::catch_unwind(|| explode(Method::Delete)).is_err());
    std::panic::set_hook(hook);
    let want = expected(&[(
        [("result", "error"), ("method", "delete"), ("error", "none")],
        1,
    )]);
    assert_eq!(series(CALLS_TOTAL, "explode"), want);
}

#[instrument(labels(method = req.0, tier = req.1), error_label)]
fn traced(req: (Method, Tier), fail: bool) -> Result<(), FetchError> {
    if fail {
        return Err(FetchError::Timeout);
    }
    Ok(())
}

#[test]
fn labels_are_span_attributes() {
    pipeline();
    traced((Method::Post, Tier::FreeTrial), false).unwrap();
    assert_eq!(
        traced((Method::Get, Tier::Professional), true),
        Err(FetchError::Timeout)
    );
    let spans = spans("traced");
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let ok = spans
        .iter()
        .find(|s| attr(s, "method").as_deref() == Some("post"));
    let ok = ok.expect("the Ok call's span");
    assert_eq!(attr(ok, "tier").as_deref(), Some("free-trial"));
    assert_eq!(
        attr(ok, "error"),
        None,
        "no `error` attribute on an Ok call"
    );
    let err = spans
        .iter()
        .find(|s| attr(s, "method").as_deref() == Some("get"));
    let err = err.expect("the Err call's span");
    assert_eq!(attr(err, "tier").as_deref(), Some("pro"));
    assert_eq!(attr(err, "error").as_deref(), Some("timeout"));
    // Labels travel beside the stored attributes (no allocation for them), in declaration
    // order; `all_attributes` yields both.
    assert!(ok.attributes.iter().all(|kv| kv.key != "method"));
    let labels: Vec<_> = err.labels.iter().collect();
    assert_eq!(
        labels,
        [("method", "get"), ("tier", "pro"), ("error", "timeout")]
    );
    assert_eq!(ok.labels.len(), 2);
    assert_eq!(ok.attribute_count(), ok.attributes.len() + 2);
}

#[instrument(labels(method = *method, tier))]
async fn serve(method: &Method, tier: Tier) -> usize {
    tokio::task::yield_now().await;
    method.index() + tier.index()
}

#[test]
fn async_calls_are_labelled_at_entry() {
    pipeline();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let get = Method::Get;
        let futures = [
            serve(&get, Tier::FreeTrial),
            serve(&get, Tier::Professional),
            serve(&get, Tier::Professional),
        ];
        for f in futures {
            f.await;
        }
    });
    let want = expected(&[
        (
            [("result", "ok"), ("method", "get"), ("tier", "free-trial")],
            1,
        ),
        ([("result", "ok"), ("method", "get"), ("tier", "pro")], 2),
    ]);
    assert_eq!(series(CALLS_TOTAL, "serve"), want);
}

/// Labels are evaluated once, at entry: the body may then move or change what they read.
struct Cart {
    tier: Tier,
    items: Vec<u32>,
}

impl Cart {
    #[instrument(labels(tier = self.tier, empty = self.items.is_empty()))]
    fn checkout(mut self) -> (Tier, Vec<u32>) {
        self.items.push(1);
        (self.tier, self.items)
    }
}

#[test]
fn labels_are_read_at_entry_from_the_arguments() {
    pipeline();
    let cart = Cart {
        tier: Tier::FreeTrial,
        items: Vec::new(),
    };
    let (tier, items) = cart.checkout();
    assert_eq!((tier.index(), items), (Tier::FreeTrial.index(), vec![1]));
    let want = expected(&[(
        [("result", "ok"), ("tier", "free-trial"), ("empty", "true")],
        1,
    )]);
    assert_eq!(series(CALLS_TOTAL, "Cart::checkout"), want);
}

#[instrument(fields(user, token = redacted, api_key = redacted))]
fn login(user: &str, token: &str) -> bool {
    !user.is_empty() && !token.is_empty()
}

#[test]
fn redacted_fields_record_no_value() {
    pipeline();
    assert!(login("ada", "s3cr3t"));
    let spans = spans("login");
    assert_eq!(spans.len(), 1);
    assert_eq!(attr(&spans[0], "user").as_deref(), Some("ada"));
    assert_eq!(
        attr(&spans[0], "token").as_deref(),
        Some(instrument_runtime::REDACTED)
    );
    assert_eq!(attr(&spans[0], "api_key").as_deref(), Some("[redacted]"));
    assert!(!format!("{spans:?}").contains("s3cr3t"));
}

#[instrument(labels(kind = std::any::type_name::<T>().len() > 10, method))]
fn generic<T: Default>(method: Method) -> T {
    T::default()
}

#[test]
fn generic_functions_share_one_labelled_series_set() {
    pipeline();
    let _: u8 = generic(Method::Get);
    let _: String = generic(Method::Get);
    let _: u8 = generic(Method::Post);
    let want = expected(&[
        ([("result", "ok"), ("kind", "false"), ("method", "get")], 1),
        ([("result", "ok"), ("kind", "true"), ("method", "get")], 1),
        ([("result", "ok"), ("kind", "false"), ("method", "post")], 1),
    ]);
    assert_eq!(series(CALLS_TOTAL, "generic"), want);
}
