// `#[instrument]` on a struct. KNOWN MACRO BUG: spans the attribute, not the `struct`.
use instrument_runtime::instrument;

#[instrument]
struct Config {
    port: u16,
}

fn main() {}
