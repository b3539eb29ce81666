//! Call metrics: per-thread histogram shards and their aggregation on the exporter thread.

pub(crate) mod aggregate;
pub(crate) mod fallback;
pub(crate) mod histogram;

pub use histogram::BOUNDS_SECONDS;
