// `rename_all` takes a known case.
use instrument_runtime::Label;

#[derive(Label)]
#[label(rename_all = "snake")]
enum Tier {
    Free,
    Pro,
}

fn main() {}
