// `rename` belongs on a variant.
use instrument_runtime::Label;

#[derive(Label)]
#[label(rename = "tier")]
enum Tier {
    Free,
    Pro,
}

fn main() {}
