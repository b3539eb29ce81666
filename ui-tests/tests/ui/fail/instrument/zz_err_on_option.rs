use instrument_runtime::instrument;

#[instrument(err)]
fn find() -> Option<u8> {
    None
}

fn main() {}
