//! tracing-attributes' `ui/pass/type_shadowing.rs` (tokio-rs/tracing#3306): a glob import in
//! the body that shadows the return type's name does not break the expansion.
type Foo = ();
enum Bar {
    Foo,
}

#[instrument_runtime::instrument]
fn this_is_fine() -> Foo {
    // glob import imports Bar::Foo, shadowing Foo
    use Bar::*;
}

#[instrument_runtime::instrument]
async fn this_is_fine_too() -> Foo {
    use Bar::*;
}

fn main() {
    this_is_fine();
    let _ = this_is_fine_too();
    let _ = Bar::Foo;
}
