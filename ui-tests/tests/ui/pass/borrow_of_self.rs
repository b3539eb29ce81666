// Sync methods returning borrows of `self` or of arguments, inside `Result`/`Option`.
use instrument_runtime::instrument;

#[derive(Debug)]
struct NotFound;

struct Slots<T> {
    items: Vec<T>,
}

impl<T> Slots<T> {
    #[instrument(err(Debug))]
    fn get(&mut self, i: usize) -> Result<&mut T, NotFound> {
        self.items.get_mut(i).ok_or(NotFound)
    }

    #[instrument]
    fn peek(&self) -> Option<&T> {
        self.items.last()
    }
}

#[instrument]
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

fn main() {
    let mut s = Slots { items: vec![1, 2] };
    *s.get(0).unwrap() += 10;
    assert!(s.get(5).is_err());
    assert_eq!(s.peek(), Some(&2));
    assert_eq!(s.items[0], 11);
    assert_eq!(longest("ab", "c"), "ab");
}
