//! Examples: see `quickstart.rs`.
