// `rename_all` belongs on the enum.
use instrument_runtime::Label;

#[derive(Label)]
enum Tier {
    #[label(rename_all = "UPPERCASE")]
    Free,
    Pro,
}

fn main() {}
