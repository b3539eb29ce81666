//! The exporter thread (exactly one): drains every thread's ring, builds batches, snapshots
//! metrics and offers everything to every sink; each sink (one per exporter) delivers on its
//! own worker with its own queue, retries, circuit breaker and accounting.

pub(crate) mod breaker;
pub(crate) mod convert;
pub(crate) mod self_metrics;
pub(crate) mod sink;
pub(crate) mod thread;
