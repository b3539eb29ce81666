// `#[track_caller]` on an instrumented sync fn still reports the caller's location.
use std::panic::Location;

// (With `#[track_caller]` the body runs inline, not in a closure, so the location is kept.)
#[track_caller]
#[instrument_runtime::instrument]
fn whence() -> &'static Location<'static> {
    Location::caller()
}

fn main() {
    let here = line!() + 1;
    let loc = whence();
    assert_eq!((loc.file(), loc.line()), (file!(), here));
}
