// `error_label` takes no value.
use instrument_runtime::instrument;

#[instrument(error_label = true)]
fn handle() -> Result<(), ()> {
    Ok(())
}

fn main() {}
