//! Procedural macros for `instrument-runtime`. Use them through that crate.
#![forbid(unsafe_code)]
