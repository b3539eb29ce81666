// `return` of the wrong type. KNOWN MACRO BUG: blames `42` and the attribute instead of `"no"`.
use instrument_runtime::instrument;

#[instrument]
fn answer(x: bool) -> u32 {
    if x {
        return "no";
    }
    42
}

fn main() {}
