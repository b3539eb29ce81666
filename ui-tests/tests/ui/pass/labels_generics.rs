// Labels on generic functions: concrete label types beside type parameters, label types that
// are type parameters, where clauses, lifetimes, and `error_label` with a generic error type.
use instrument_runtime::{instrument, Label};

#[derive(Label, Clone, Copy)]
enum Method {
    Get,
    Post,
}

#[derive(Label, Debug)]
enum StoreError {
    Missing,
}

#[instrument(labels(method, large = item.as_ref().len() > 3))]
fn put<T: AsRef<str>>(method: Method, item: T) -> usize {
    item.as_ref().len()
}

#[instrument(labels(kind = kind))]
fn by_kind<K>(kind: K) -> usize
where
    K: Label,
{
    kind.index()
}

#[instrument(labels(method = *method), error_label)]
fn first<'a, E: Label>(method: &'a Method, items: &'a [u8], missing: E) -> Result<&'a u8, E> {
    items.first().ok_or(missing)
}

struct Store<T> {
    items: Vec<T>,
}

impl<T: Clone> Store<T> {
    #[instrument(labels(method, empty = self.items.is_empty()), error_label)]
    fn get(&self, method: Method, i: usize) -> Result<T, StoreError> {
        self.items.get(i).cloned().ok_or(StoreError::Missing)
    }
}

fn main() {
    let (telemetry, collected) = instrument_ui_tests::collect();
    assert_eq!(put(Method::Get, "abcd"), 4);
    assert_eq!(put(Method::Post, String::from("ab")), 2);
    assert_eq!(by_kind(Method::Post), 1);
    assert_eq!(*first(&Method::Get, &[7], StoreError::Missing).unwrap(), 7);
    assert!(first(&Method::Get, &[], StoreError::Missing).is_err());
    let store = Store { items: vec![1u8] };
    assert_eq!(store.get(Method::Get, 0).unwrap(), 1);
    assert!(store.get(Method::Get, 5).is_err());
    let span = &instrument_ui_tests::spans(&telemetry, &collected, "get")[1];
    assert_eq!(
        instrument_ui_tests::attr_text(span, "error").as_deref(),
        Some("missing")
    );
    assert_eq!(
        instrument_ui_tests::attr_text(span, "empty").as_deref(),
        Some("false")
    );
}
