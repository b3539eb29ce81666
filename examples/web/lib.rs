//! See `web_service.rs`: an instrumented axum service (`cargo run --example web_service`).
