// `err` given twice, in two spellings: the second one is the error.
use instrument_runtime::instrument;

#[instrument(err, err(Debug))]
fn work() -> Result<(), String> {
    Ok(())
}

fn main() {}
