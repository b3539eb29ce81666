// Unknown `#[label(...)]` keys are refused.
use instrument_runtime::Label;

#[derive(Label)]
enum Tier {
    #[label(renmae = "free")]
    Free,
    Pro,
}

fn main() {}
