//! Call metrics: per-thread histogram shards, their aggregation on the exporter thread, and
//! the exemplars that link histogram buckets to exported spans.

pub(crate) mod aggregate;
pub(crate) mod buckets;
pub(crate) mod exemplar;
pub(crate) mod exponential;
pub(crate) mod fallback;
pub(crate) mod histogram;

pub use buckets::{Buckets, BOUNDS_SECONDS, DEFAULT_BUCKETS, MAX_BUCKET_BOUNDS};
pub use exponential::{
    index_of as exponential_bucket_index, EXPONENTIAL_MAX_SIZE, EXPONENTIAL_SCALE,
};
