// Fns returning `&str` and other borrows with elided lifetimes (`&self`, one input, `'_`).
use instrument_runtime::instrument;

#[instrument]
fn first_word(s: &str) -> &str {
    s.split(' ').next().unwrap_or("")
}

struct Name(String);

impl Name {
    #[instrument]
    fn as_str(&self) -> &str {
        &self.0
    }

    #[instrument]
    fn chars(&self) -> std::str::Chars<'_> {
        self.0.chars()
    }
}

fn main() {
    assert_eq!(first_word("hello world"), "hello");
    let n = Name("ab".to_owned());
    assert_eq!(n.as_str(), "ab");
    assert_eq!(n.chars().count(), 2);
}
