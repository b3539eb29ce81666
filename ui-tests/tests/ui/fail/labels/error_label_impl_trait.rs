// The return type must be nameable: not `impl Trait`.
use instrument_runtime::instrument;

#[instrument(error_label)]
fn handle() -> impl Iterator<Item = u8> {
    std::iter::empty()
}

fn main() {}
