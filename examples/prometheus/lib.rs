//! See `prometheus.rs`.
