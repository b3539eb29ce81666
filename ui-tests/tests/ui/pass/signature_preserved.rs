// Attributes, docs, visibility, `mut`/pattern parameters, recursion and `impl` args survive.
use instrument_runtime::instrument;

pub(crate) mod inner {
    use instrument_runtime::instrument;

    /// Documented, `#[must_use]` and `#[inline]`: all kept on the item.
    #[must_use]
    #[inline]
    #[instrument]
    pub(crate) fn doubled(mut x: u32) -> u32 {
        x *= 2;
        x
    }
}

#[instrument]
fn destructure((a, b): (u8, u8), [c, _]: [u8; 2], Wrapper(d): Wrapper) -> u8 {
    a + b + c + d
}

struct Wrapper(u8);

#[instrument]
fn fact(n: u64) -> u64 {
    if n <= 1 {
        1
    } else {
        n * fact(n - 1)
    }
}

#[instrument]
fn unit_with_semicolon(v: &mut Vec<u8>) {
    v.push(1);
}

#[instrument]
fn with_items(n: u8) -> u8 {
    const K: u8 = 3;
    fn helper(x: u8) -> u8 {
        x + K
    }
    struct Local(u8);
    Local(helper(n)).0
}

#[instrument]
fn closures(xs: Vec<u8>) -> Box<dyn Fn(u8) -> usize> {
    Box::new(move |y| xs.iter().filter(|&&x| x > y).count())
}

fn main() {
    assert_eq!(inner::doubled(4), 8);
    assert_eq!(destructure((1, 2), [3, 9], Wrapper(4)), 10);
    assert_eq!(fact(5), 120);
    let mut v = Vec::new();
    unit_with_semicolon(&mut v);
    assert_eq!(v, [1]);
    assert_eq!(with_items(1), 4);
    assert_eq!(closures(vec![1, 5, 7])(4), 2);
}
