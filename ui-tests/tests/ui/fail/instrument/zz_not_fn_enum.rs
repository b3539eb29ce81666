use instrument_runtime::instrument;

#[instrument]
impl Foo {}

struct Foo;

fn main() {}
