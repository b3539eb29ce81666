// Every kind of label value: a string literal, `bool`, a derived enum (default snake_case,
// `rename_all`, `rename`), `Option` of one, a reference to one, a hand-written impl, the
// shorthand `labels(arg)`, and `error_label`; exported values are checked on the metrics.
use instrument_runtime::{instrument, Label};

#[derive(Label, Clone, Copy)]
enum Method {
    Get,
    Post,
    HttpPut,
}

#[derive(Label)]
#[label(rename_all = "SCREAMING-KEBAB-CASE")]
enum Tier {
    FreeTrial,
    #[label(rename = "pro")]
    Professional,
}

#[derive(Label, Debug)]
enum ApiError {
    NotFound,
    Timeout,
}

struct SizeClass(u8);

impl Label for SizeClass {
    const CARDINALITY: usize = 3;
    fn index(&self) -> usize {
        usize::from(self.0)
    }
    fn name(index: usize) -> &'static str {
        ["small", "medium", "large"][index]
    }
}

struct Request {
    method: Method,
    tier: Option<Tier>,
}

#[instrument(
    labels(method = req.method, tier = req.tier, cached, region = "eu-west-1", size = SizeClass(2), by_ref = &req.method),
    error_label
)]
fn handle(req: &Request, cached: bool) -> Result<u8, ApiError> {
    match req.method {
        Method::Get => Ok(1),
        Method::Post => Err(ApiError::NotFound),
        Method::HttpPut => Err(ApiError::Timeout),
    }
}

fn main() {
    let (telemetry, collected) = instrument_ui_tests::collect();
    let get = Request {
        method: Method::Get,
        tier: None,
    };
    let put = Request {
        method: Method::HttpPut,
        tier: Some(Tier::FreeTrial),
    };
    assert_eq!(handle(&get, true).unwrap(), 1);
    assert!(handle(&put, false).is_err());
    let span = &instrument_ui_tests::spans(&telemetry, &collected, "handle")[1];
    assert_eq!(
        instrument_ui_tests::attr_text(span, "method").as_deref(),
        Some("http_put")
    );
    assert_eq!(
        instrument_ui_tests::attr_text(span, "tier").as_deref(),
        Some("FREE-TRIAL")
    );
    assert_eq!(
        instrument_ui_tests::attr_text(span, "cached").as_deref(),
        Some("false")
    );
    assert_eq!(
        instrument_ui_tests::attr_text(span, "region").as_deref(),
        Some("eu-west-1")
    );
    assert_eq!(
        instrument_ui_tests::attr_text(span, "size").as_deref(),
        Some("large")
    );
    assert_eq!(
        instrument_ui_tests::attr_text(span, "by_ref").as_deref(),
        Some("http_put")
    );
    assert_eq!(
        instrument_ui_tests::attr_text(span, "error").as_deref(),
        Some("timeout")
    );
    assert_eq!(Tier::name(Tier::Professional.index()), "pro");
}
