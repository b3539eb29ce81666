// `err(...)` accepts only `Display` or `Debug`.
use instrument_runtime::instrument;

#[instrument(err(Json))]
fn work() -> Result<(), String> {
    Ok(())
}

fn main() {}
