// A key is given at most once.
use instrument_runtime::Label;

#[derive(Label)]
#[label(rename_all = "UPPERCASE", rename_all = "lowercase")]
enum Tier {
    Free,
    Pro,
}

fn main() {}
