// `?` whose error has no `From` conversion: rustc's error at the `?`, as without the macro.
use instrument_runtime::instrument;

struct MyError;

#[instrument]
fn parse(s: &str) -> Result<u32, MyError> {
    let n: u32 = s.parse()?;
    Ok(n)
}

fn main() {}
