// An enum without variants has no value.
use instrument_runtime::Label;

#[derive(Label)]
enum Never {}

fn main() {}
