//! Helpers shared by the benchmarks of `benches/benches/*.rs` (issue 5): the 1- and 2-thread
//! runner, the floor cases (TSC pair, `Instant` pair, floor span), and `/proc` readers (thread
//! CPU time, peak memory). Run everything with `benches/run.sh`.

pub mod floor;
pub mod procfs;
pub mod runner;
