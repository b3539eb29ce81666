// `#[instrument]` on a struct.
use instrument_runtime::instrument;

#[instrument]
struct Config {
    port: u16,
}

fn main() {}
