// Fns returning `impl Trait`, including `impl Iterator<Item = &'a T>` borrowing an argument.
use std::fmt::Display;

use instrument_runtime::instrument;

#[instrument]
fn evens<'a, T>(items: &'a [T]) -> impl Iterator<Item = &'a T> + 'a {
    items.iter().step_by(2)
}

#[instrument]
fn shown(n: u32) -> impl Display {
    if n == 0 {
        return String::from("zero");
    }
    n.to_string()
}

#[instrument]
fn adder(k: i32) -> impl Fn(i32) -> i32 {
    move |x| x + k
}

#[instrument]
fn arg_position(items: impl IntoIterator<Item = u8>) -> u32 {
    items.into_iter().map(u32::from).sum()
}

fn main() {
    let v = [1, 2, 3, 4, 5];
    assert_eq!(evens(&v).copied().collect::<Vec<_>>(), [1, 3, 5]);
    assert_eq!(shown(0).to_string(), "zero");
    assert_eq!(shown(7).to_string(), "7");
    assert_eq!(adder(2)(3), 5);
    assert_eq!(arg_position(vec![1, 2]), 3);
}
