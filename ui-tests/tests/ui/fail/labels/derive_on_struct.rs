// `#[derive(Label)]` is for enums.
use instrument_runtime::Label;

#[derive(Label)]
struct Method {
    name: String,
}

fn main() {}
