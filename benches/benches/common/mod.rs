//! What every per-call bench binary shares: the criterion settings, the 1-thread and 2-thread
//! groups, and the side results (drops, exports) written next to criterion's.

#![allow(dead_code)] // each binary uses a subset

use std::io::Write;
use std::time::Duration;

use criterion::Criterion;
use instrument_benches::runner::{run_1t, run_nt, Case};

pub mod peers;

/// Threads calling at once in the multi-thread groups.
pub const THREADS: usize = 2;

/// More calling threads than the machine has cores (2): the design's registry, drain and
/// wake-ups per ring under oversubscription (criterion only, no interleaved rounds).
pub const MANY: usize = 8;

/// Criterion with settings sized so that `run.sh` fits in about 15 minutes on 2 cores; the
/// command line (`--measurement-time`, `--warm-up-time`, `--sample-size`) still overrides them.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .without_plots()
        .configure_from_args()
}

/// Records `(emitted, exported, dropped)` so far, for the side results.
pub type Accounting = fn() -> (u64, u64, u64);

/// One configuration of the benchmark.
pub struct Bench {
    /// Row name in the results.
    pub name: &'static str,
    /// What to run.
    pub case: Case,
    /// Threads counts to run it with (1 and/or [`THREADS`]).
    pub threads: &'static [usize],
    /// Accounting snapshot `(emitted, exported, dropped)` of the records this configuration
    /// makes, taken before and after it runs (after `settle`), for the side results.
    pub accounting: Option<Accounting>,
}

impl Bench {
    /// A configuration run on 1 and on [`THREADS`] threads.
    pub fn new(name: &'static str, case: Case) -> Bench {
        Bench {
            name,
            case,
            threads: &[1, THREADS],
            accounting: None,
        }
    }

    /// Also runs it on [`MANY`] threads.
    pub fn many(mut self) -> Bench {
        self.threads = &[1, THREADS, MANY];
        self
    }

    /// Runs it on 1 thread only.
    pub fn one_thread(mut self) -> Bench {
        self.threads = &[1];
        self
    }

    /// Reports records emitted/exported/dropped while it ran.
    pub fn accounting(mut self, f: Accounting) -> Bench {
        self.accounting = Some(f);
        self
    }
}

/// Runs every bench in groups `<binary>-1t` and `<binary>-2t` (criterion ids
/// `<binary>-<n>t/<name>`), writing side results to `$INSTRUMENT_BENCH_OUT/side.tsv`.
///
/// With `INSTRUMENT_BENCH_PROFILE=<name>[:<calls>]` in the environment, runs only that bench,
/// `calls` times (default 1,000,000) on 1 thread, without criterion: a steady workload for
/// `valgrind --tool=callgrind` (see `run.sh --profile`).
pub fn run(c: &mut Criterion, binary: &str, benches: &[Bench]) {
    if let Ok(spec) = std::env::var("INSTRUMENT_BENCH_PROFILE") {
        let (name, calls) = spec.split_once(':').unwrap_or((&spec, "1000000"));
        let calls: u64 = calls
            .parse()
            .expect("INSTRUMENT_BENCH_PROFILE=<name>:<calls>");
        if let Some(bench) = benches.iter().find(|b| b.name == name) {
            let took = run_1t(&bench.case, calls);
            println!("profile: {binary}/{name}: {calls} calls, {took:?} timed");
        }
        return;
    }
    for threads in [1, THREADS, MANY] {
        if !benches.iter().any(|b| b.threads.contains(&threads)) {
            continue;
        }
        let mut group = c.benchmark_group(format!("{binary}-{threads}t"));
        for bench in benches.iter().filter(|b| b.threads.contains(&threads)) {
            let before = bench.accounting.map(|f| f());
            let case = bench.case;
            group.bench_function(bench.name, |b| {
                b.iter_custom(|iters| match threads {
                    1 => run_1t(&case, iters),
                    n => run_nt(n, &case, iters),
                })
            });
            if let (Some(f), Some((e0, x0, d0))) = (bench.accounting, before) {
                let (e1, x1, d1) = f();
                let id = format!("{binary}-{threads}t/{}", bench.name);
                side(&id, "emitted", e1 - e0);
                side(&id, "exported", x1 - x0);
                side(&id, "dropped", d1 - d0);
            }
        }
        group.finish();
    }
    interleaved_rounds(binary, benches);
}

/// Interleaved rounds, for ratios that survive a noisy machine: each round runs every bench,
/// on 1 thread and on [`THREADS`] threads, for about `INSTRUMENT_BENCH_ROUND_MS` (default 20)
/// milliseconds of timed calls each, one after the other; `INSTRUMENT_BENCH_ROUNDS` (default
/// 20, 0 to skip) rounds. Load that comes and goes hits every case of a round alike, so the
/// per-round ratio of two cases is steadier than the ratio of two criterion runs made minutes
/// apart. Every sample goes to `$INSTRUMENT_BENCH_OUT/rounds.tsv`
/// (`binary, threads, bench, round, ns per call`), summarised by `run.sh`.
fn interleaved_rounds(binary: &str, benches: &[Bench]) {
    let rounds: usize = env_or("INSTRUMENT_BENCH_ROUNDS", 20);
    let round_ms: u64 = env_or("INSTRUMENT_BENCH_ROUND_MS", 20);
    if rounds == 0 {
        return;
    }
    // Every thread count runs on pool threads here (1 thread: a pool of one), so that 1 and 2
    // threads differ only in the number of threads.
    let run = |threads: usize, case: &Case, iters: u64| run_nt(threads, case, iters);
    // Calls per sample, from a short calibration run of each bench.
    let mut plan = Vec::new();
    let only: usize = env_or("INSTRUMENT_BENCH_ROUND_THREADS", 0);
    for threads in [1, THREADS].into_iter().filter(|&t| only == 0 || t == only) {
        for bench in benches.iter().filter(|b| b.threads.contains(&threads)) {
            let probe = 20_000;
            let took = run(threads, &bench.case, probe).as_nanos().max(1) as f64;
            let per_call = took / probe as f64;
            let iters = ((round_ms as f64 * 1e6) / per_call).clamp(1_000.0, 50_000_000.0) as u64;
            plan.push((threads, bench, iters));
        }
    }
    let mut out = String::new();
    for round in 0..rounds {
        for (threads, bench, iters) in &plan {
            let took = run(*threads, &bench.case, *iters);
            let ns = took.as_nanos() as f64 / *iters as f64;
            out.push_str(&format!(
                "{binary}\t{threads}\t{}\t{round}\t{ns:.3}\n",
                bench.name
            ));
        }
    }
    let dir = out_dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{dir}/rounds.tsv"))
    {
        let _ = f.write_all(out.as_bytes());
    }
    println!(
        "interleaved rounds: {rounds} x {} samples written to {dir}/rounds.tsv",
        plan.len()
    );
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Where side results go: `$INSTRUMENT_BENCH_OUT`, default `target/instrument-benches`.
pub fn out_dir() -> String {
    std::env::var("INSTRUMENT_BENCH_OUT").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/instrument-benches").into()
    })
}

/// Appends `id \t key \t value` to `$INSTRUMENT_BENCH_OUT/side.tsv` (default
/// `target/instrument-benches`), and prints it.
pub fn side(id: &str, key: &str, value: impl std::fmt::Display) {
    if std::env::var_os("INSTRUMENT_BENCH_PROFILE").is_some() {
        return; // a profiling run: its numbers are not results
    }
    println!("side: {id} {key} = {value}");
    let dir = std::env::var("INSTRUMENT_BENCH_OUT").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/instrument-benches").into()
    });
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{dir}/side.tsv"))
    {
        let _ = writeln!(f, "{id}\t{key}\t{value}");
    }
}
