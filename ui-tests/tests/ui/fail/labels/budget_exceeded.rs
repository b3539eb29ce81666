// 4 × 3 × 2 (result) = 24 series, over a budget of 20: the const assertion names the
// function, each label with its size, and the product.
use instrument_runtime::{instrument, Label};

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

#[instrument(labels(method, tier, region = "eu-west-1"), max_series = 20)]
fn handle(method: Method, tier: Tier) {}

fn main() {
    handle(Method::Get, Tier::Free);
}
