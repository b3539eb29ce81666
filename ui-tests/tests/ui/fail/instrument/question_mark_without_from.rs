// `?` whose error has no `From` conversion: rustc's error at the failing call. (In a closure,
// which is how a sync body runs, rustc words it as a type mismatch on the call, not at the `?`.)
use instrument_runtime::instrument;

struct MyError;

#[instrument]
fn parse(s: &str) -> Result<u32, MyError> {
    let n: u32 = s.parse()?;
    Ok(n)
}

fn main() {}
