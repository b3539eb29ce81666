//! Instrumented code under strict lints (placeholder).
