// An empty label value is an absent label on the backend.
use instrument_runtime::Label;

#[derive(Label)]
enum Tier {
    #[label(rename = "")]
    Free,
    Pro,
}

fn main() {}
