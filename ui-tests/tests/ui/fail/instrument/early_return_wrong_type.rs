// `return` of the wrong type: rustc's error at the returned value, as without the macro.
use instrument_runtime::instrument;

#[instrument]
fn answer(x: bool) -> u32 {
    if x {
        return "no";
    }
    42
}

fn main() {}
