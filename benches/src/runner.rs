//! Runs a function `iters` times on 1 thread or on N threads started together, and returns the
//! time per thread, for criterion's `iter_custom`.
//!
//! Threads are a persistent pool (started once per process): a thread started per sample would
//! register a new ring (and new metric shards) with every pipeline each time, which is neither
//! what an application does nor cheap.
//!
//! A [`Case`] may split the calls into chunks with untimed work between them (e.g. a flush, so
//! rings never fill and every record is written and exported). Only the calls are timed.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The benchmarked call: one call of an instrumented (or not) function.
pub type Call = fn(u64) -> u64;

/// What to run, and what to do (untimed) around the calls.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// One call.
    pub call: Call,
    /// Calls per chunk on each thread (`None`: all calls in one chunk).
    pub chunk: Option<u64>,
    /// Runs `n` calls on the current thread and returns the time they took. The default is a
    /// plain timed loop; cases that need per-thread setup around a chunk (e.g. fastrace's root
    /// span) replace it, keeping the setup outside the timed region.
    pub run_chunk: fn(Call, u64) -> Duration,
    /// Run by one thread between chunks while the others wait, untimed (e.g. a flush).
    pub between: Option<fn()>,
}

impl Case {
    /// A plain case: `call` in a timed loop, no chunks.
    pub const fn new(call: Call) -> Case {
        Case {
            call,
            chunk: None,
            run_chunk: timed_loop,
            between: None,
        }
    }

    /// Splits the calls into chunks of `calls`, running `between` (untimed) after each.
    pub const fn chunked(mut self, calls: u64, between: fn()) -> Case {
        self.chunk = Some(calls);
        self.between = Some(between);
        self
    }

    /// Uses `run` to run (and time) each chunk.
    pub const fn with_chunk_runner(mut self, run: fn(Call, u64) -> Duration) -> Case {
        self.run_chunk = run;
        self
    }
}

/// `n` calls of `call` in a loop; the time they took (see [`Clock`]).
#[inline(never)]
pub fn timed_loop(call: Call, n: u64) -> Duration {
    let call = std::hint::black_box(call);
    let start = Clock::now();
    for i in 0..n {
        std::hint::black_box(call(std::hint::black_box(i)));
    }
    start.elapsed()
}

/// What the runner's timings measure: by default the CPU time of the calling thread
/// (`CLOCK_THREAD_CPUTIME_ID`), so that the time this thread spends preempted by the other
/// builds of a shared machine is not counted as the cost of the calls; with
/// `INSTRUMENT_BENCH_CLOCK=wall`, wall-clock time (`std::time::Instant`). The calls timed never
/// block (no lock, no syscall in any configuration's hot path; flushes run between chunks,
/// untimed), so on an idle machine the two agree.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// CPU time of this thread, in nanoseconds.
    ThreadCpu(u64),
    /// Wall clock.
    Wall(Instant),
}

impl Clock {
    /// Now, on the configured clock.
    pub fn now() -> Clock {
        static WALL: OnceLock<bool> = OnceLock::new();
        let wall = *WALL
            .get_or_init(|| std::env::var("INSTRUMENT_BENCH_CLOCK").is_ok_and(|v| v == "wall"));
        if wall {
            Clock::Wall(Instant::now())
        } else {
            Clock::ThreadCpu(crate::procfs::current_thread_cpu_ns())
        }
    }

    /// Time since `self`, on the same clock.
    pub fn elapsed(self) -> Duration {
        match self {
            Clock::ThreadCpu(t) => {
                Duration::from_nanos(crate::procfs::current_thread_cpu_ns().saturating_sub(t))
            }
            Clock::Wall(t) => t.elapsed(),
        }
    }
}

/// Runs `iters` calls of `case` on the current thread; returns the timed part.
pub fn run_1t(case: &Case, iters: u64) -> Duration {
    let chunk = case.chunk.unwrap_or(iters).max(1);
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = chunk.min(iters - done);
        total += (case.run_chunk)(case.call, n);
        done += n;
        if let Some(between) = case.between {
            between();
        }
    }
    total
}

/// Runs `iters` calls of `case` on each of `threads` pool threads at once (released by a
/// barrier, chunk by chunk); returns the mean of the threads' timed parts: the per-thread time
/// for `iters` calls, comparable with [`run_1t`].
pub fn run_nt(threads: usize, case: &Case, iters: u64) -> Duration {
    let pool = pool(threads);
    let pool = pool.lock().unwrap_or_else(|p| p.into_inner());
    let barrier = Arc::new(Barrier::new(threads));
    for w in &pool.workers {
        w.send(Job {
            case: *case,
            iters,
            barrier: Arc::clone(&barrier),
        })
        .expect("bench worker alive");
    }
    let mut total = Duration::ZERO;
    for _ in 0..threads {
        total += pool.results.recv().expect("bench worker answered");
    }
    total / threads as u32
}

struct Job {
    case: Case,
    iters: u64,
    barrier: Arc<Barrier>,
}

struct Pool {
    workers: Vec<Sender<Job>>,
    results: Receiver<Duration>,
}

/// One pool per thread count (in practice: 2).
type Pools = Mutex<Vec<(usize, &'static Mutex<Pool>)>>;

fn pool(threads: usize) -> &'static Mutex<Pool> {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    let pools = POOLS.get_or_init(Default::default);
    let mut pools = pools.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, p)) = pools.iter().find(|(n, _)| *n == threads) {
        return p;
    }
    let (result_tx, results) = mpsc::channel();
    let workers = (0..threads)
        .map(|i| {
            let (tx, rx) = mpsc::channel::<Job>();
            let result_tx = result_tx.clone();
            std::thread::Builder::new()
                .name(format!("bench-worker-{i}"))
                .spawn(move || worker(i, rx, result_tx))
                .expect("spawn bench worker");
            tx
        })
        .collect();
    let p: &'static Mutex<Pool> = Box::leak(Box::new(Mutex::new(Pool { workers, results })));
    pools.push((threads, p));
    p
}

fn worker(index: usize, jobs: Receiver<Job>, results: Sender<Duration>) {
    while let Ok(job) = jobs.recv() {
        let case = job.case;
        let chunk = case.chunk.unwrap_or(job.iters).max(1);
        let mut total = Duration::ZERO;
        let mut done = 0;
        while done < job.iters {
            let n = chunk.min(job.iters - done);
            job.barrier.wait();
            total += (case.run_chunk)(case.call, n);
            done += n;
            job.barrier.wait();
            if let (Some(between), 0) = (case.between, index) {
                between();
            }
        }
        // Every thread's last chunk is over (and flushed) before any result is used.
        job.barrier.wait();
        if results.send(total).is_err() {
            return;
        }
    }
}
