use instrument_runtime::instrument;

#[instrument]
async fn answer() -> u32 {
    "forty-two"
}

fn main() {}
