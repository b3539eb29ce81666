// With `ret`, the field name `return` is taken.
use instrument_runtime::instrument;

#[instrument(ret, fields(r#return = 1))]
fn work() -> u8 {
    1
}

fn main() {}
