//! The exporter thread (exactly one): drains every thread's ring, builds batches, retries and
//! breaks the circuit, snapshots metrics, and hands everything to the current exporter.

pub(crate) mod breaker;
pub(crate) mod convert;
pub(crate) mod self_metrics;
pub(crate) mod thread;
