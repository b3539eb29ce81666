//! Ids, the current span, the span of one call, and the async wrapper that carries it.

pub(crate) mod current;
pub(crate) mod future;
pub mod handle;
pub mod id;
pub mod manual;
pub(crate) mod span;
pub(crate) mod span_context;
pub(crate) mod store;
