// `extern crate instrument_runtime as telemetry;` with `#[instrument(crate = telemetry)]`.
extern crate instrument_runtime as telemetry;

use telemetry::instrument;

#[instrument(crate = telemetry, err, ret, fields(x))]
fn renamed(x: u8) -> Result<u8, String> {
    Ok(x)
}

#[instrument(crate = telemetry)]
async fn renamed_async(x: u8) -> u8 {
    x
}

fn main() {
    assert_eq!(renamed(1), Ok(1));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(renamed_async(2)), 2);
}
