// `#[track_caller]` on an instrumented sync fn still reports the caller's location.
use std::panic::Location;

use instrument_runtime::instrument;

#[track_caller]
#[instrument]
fn whence() -> &'static Location<'static> {
    Location::caller()
}

fn main() {
    let here = line!() + 1;
    let loc = whence();
    assert_eq!((loc.file(), loc.line()), (file!(), here));
}
