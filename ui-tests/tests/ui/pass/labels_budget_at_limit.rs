// A label set exactly at its budget compiles: 500 × 2 = 1000 (the default), 4 × 3 × 2 = 24 with
// `max_series = 24`, and 2 × (2 + 1) × 2 = 12 with the `error` label and `max_series = 12`.
use instrument_runtime::{instrument, Label};

struct FiveHundred(u16);

impl Label for FiveHundred {
    const CARDINALITY: usize = 500;
    fn index(&self) -> usize {
        usize::from(self.0)
    }
    fn name(_: usize) -> &'static str {
        "bucket"
    }
}

#[derive(Label)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Label)]
enum Tier {
    Free,
    Pro,
    Enterprise,
}

#[derive(Label, Debug)]
enum ApiError {
    NotFound,
    Timeout,
}

#[instrument(labels(bucket = FiveHundred(n % 500)))]
fn default_budget(n: u16) {}

#[instrument(labels(method, tier, region = "eu-west-1"), max_series = 24)]
fn explicit_budget(method: Method, tier: Tier) {}

#[instrument(labels(cached), error_label, max_series = 12)]
fn with_error_label(cached: bool) -> Result<(), ApiError> {
    if cached {
        Ok(())
    } else {
        Err(ApiError::Timeout)
    }
}

fn main() {
    default_budget(1499);
    explicit_budget(Method::Delete, Tier::Enterprise);
    assert!(with_error_label(false).is_err());
}
