// `err(level = ..)` takes one of the five levels.
use instrument_runtime::instrument;

#[instrument(err(level = "loud"))]
fn work() -> Result<(), String> {
    Ok(())
}

fn main() {}
