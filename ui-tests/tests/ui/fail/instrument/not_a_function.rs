// `#[instrument]` on a struct: the error points at `struct Config`.
use instrument_runtime::instrument;

#[instrument]
struct Config {
    port: u16,
}

fn main() {}
