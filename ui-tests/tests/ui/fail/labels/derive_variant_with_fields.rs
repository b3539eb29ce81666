// A variant with fields could hold any number of values.
use instrument_runtime::Label;

#[derive(Label)]
enum Route {
    Home,
    User(u64),
}

fn main() {}
