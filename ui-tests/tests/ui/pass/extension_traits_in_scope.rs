// The expansion calls nothing by method syntax that a trait in the user's scope could capture:
// tracing's and futures' extension traits, and a trait of the user's implemented for every
// type with the names of the runtime's methods, are all in scope here.
#![allow(dead_code, unused_imports)]

use futures_util::FutureExt;
use instrument_runtime::{instrument, Label};
use instrument_ui_tests::{collect, only_span};
use std::future::Future;
use std::pin::Pin;
use tracing::Instrument;

/// Every method name the runtime's span, callsite and label set have, for every type, taking
/// `self` by value (so it would win over an inherent `&self` method at method resolution).
/// (`instrument` itself is `tracing::Instrument`'s, in scope above.)
trait Hostile: Sized {
    fn record(self) -> Self {
        self
    }
    fn finish(self) -> Self {
        self
    }
    fn is_sampled(self) -> Self {
        self
    }
    fn set_label_index(self) -> Self {
        self
    }
    fn bind_labels(self) -> Self {
        self
    }
    fn index_with(self) -> Self {
        self
    }
    fn qualified_by(self) -> Self {
        self
    }
    fn with_declared_fields(self) -> Self {
        self
    }
    fn record_error(self) -> Self {
        self
    }
    fn record_return(self) -> Self {
        self
    }
    fn exceeded(self) -> Self {
        self
    }
    fn message(self) -> Self {
        self
    }
    fn descs(self) -> Self {
        self
    }
    fn declared_fields(self) -> Self {
        self
    }
    fn function(self) -> Self {
        self
    }
}
impl<T> Hostile for T {}

#[derive(Label, Clone, Copy)]
enum Kind {
    A,
    B,
}

#[instrument(fields(n), labels(kind), err, ret)]
fn sync_fn(n: u32, kind: Kind) -> Result<u32, String> {
    Ok(n)
}

#[instrument(fields(n), labels(kind), err, ret)]
async fn async_fn(n: u32, kind: Kind) -> Result<u32, String> {
    Ok(n)
}

#[instrument(err)]
fn impl_future(n: u32) -> impl Future<Output = Result<u32, String>> {
    async move { Ok(n) }
}

#[instrument(err)]
fn boxed(n: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> {
    Box::pin(async move { Ok(n) })
}

#[async_trait::async_trait]
trait Repo {
    async fn get(&self, n: u32) -> Result<u32, String>;
}

struct R;

#[async_trait::async_trait]
impl Repo for R {
    #[instrument(skip(self), err)]
    async fn get(&self, n: u32) -> Result<u32, String> {
        Ok(n)
    }
}

fn main() {
    let (telemetry, collected) = collect();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(sync_fn(1, Kind::A), Ok(1));
    assert_eq!(rt.block_on(async_fn(2, Kind::B)), Ok(2));
    assert_eq!(rt.block_on(impl_future(3)), Ok(3));
    assert_eq!(rt.block_on(boxed(4)), Ok(4));
    assert_eq!(rt.block_on(R.get(5)), Ok(5));
    // The user's extension traits still work on our futures.
    assert_eq!(rt.block_on(async_fn(6, Kind::A).boxed()), Ok(6));
    assert_eq!(
        rt.block_on(async_fn(7, Kind::A).instrument(tracing::info_span!("outer"))),
        Ok(7)
    );
    for name in ["sync_fn", "impl_future", "boxed", "get"] {
        let _ = only_span(&telemetry, &collected, name);
    }
    assert_eq!(collected.spans_named("async_fn").len(), 3);
}
