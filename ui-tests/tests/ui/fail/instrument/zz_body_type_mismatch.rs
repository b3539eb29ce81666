use instrument_runtime::instrument;

#[instrument]
fn answer() -> u32 {
    "forty-two"
}

fn main() {}
