// Generic fns (type, lifetime and const parameters, where clauses) keep type inference.
use std::fmt::Debug;
use std::ops::Add;

use instrument_runtime::instrument;

#[instrument]
fn instrumented_generic<T: Into<u64>>(x: T) -> T {
    x
}

#[instrument(ret)]
fn sum<T>(items: &[T]) -> T
where
    T: Copy + Default + Add<Output = T> + Debug,
{
    items.iter().fold(T::default(), |a, b| a + *b)
}

#[instrument]
fn parse_as<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.parse().ok()
}

#[instrument]
fn first<const N: usize, T: Copy>(xs: [T; N]) -> Option<T> {
    xs.first().copied()
}

#[instrument(fields(?x))]
fn generic_debug<X: Debug + ?Sized>(x: &X) -> usize {
    format!("{x:?}").len()
}

fn main() {
    let x: u8 = instrumented_generic(5);
    assert_eq!(x, 5);
    assert_eq!(sum(&[1.5, 2.5]), 4.0);
    let n: i32 = parse_as("42").unwrap();
    assert_eq!(n, 42);
    assert_eq!(parse_as::<u8>("300"), None);
    assert_eq!(first([7u8, 8]), Some(7));
    assert_eq!(generic_debug("ab"), 4);
}
