// A fn returning `!` (its span closes on unwind) and one calling it in a branch.
use instrument_runtime::instrument;

#[instrument]
fn fail(msg: &str) -> ! {
    panic!("{msg}")
}

#[instrument]
fn checked(x: u8) -> u8 {
    if x > 9 {
        fail("too big");
    }
    x
}

fn main() {
    assert_eq!(checked(3), 3);
    let caught = std::panic::catch_unwind(|| checked(10));
    assert!(caught.is_err());
}
