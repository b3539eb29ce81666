//! See `otlp.rs`.
