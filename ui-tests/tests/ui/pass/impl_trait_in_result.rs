// `impl Trait` nested in the return type (no `let` annotation possible) with `?` inside.
use std::fmt::Display;
use std::num::ParseIntError;

use instrument_runtime::instrument;

#[instrument(err)]
fn parsed(s: &str) -> Result<impl Display, ParseIntError> {
    let n: u8 = s.parse()?;
    Ok(n)
}

#[instrument]
fn nested() -> u32 {
    #[instrument]
    fn inner() -> u32 {
        1
    }
    inner() + inner()
}

fn main() {
    assert_eq!(parsed("7").unwrap().to_string(), "7");
    assert!(parsed("x").is_err());
    assert_eq!(nested(), 2);
}
