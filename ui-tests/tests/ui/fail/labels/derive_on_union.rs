// `#[derive(Label)]` is for enums.
use instrument_runtime::Label;

#[derive(Label)]
union Bits {
    a: u8,
    b: i8,
}

fn main() {}
