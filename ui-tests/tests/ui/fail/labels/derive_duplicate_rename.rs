// Two variants exported under the same text would be one series.
use instrument_runtime::Label;

#[derive(Label)]
enum Tier {
    Free,
    #[label(rename = "free")]
    Trial,
}

fn main() {}
