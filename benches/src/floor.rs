//! The floor cases: the least any span-recording design can do per call.
//!
//! - a pair of TSC reads (`minstant`, and raw `rdtsc`; instrument-runtime reads raw ticks through `quanta`);
//! - a pair of `std::time::Instant::now()` (vDSO `clock_gettime`);
//! - the *floor span*: two TSC reads + new random ids (128-bit trace id, 64-bit span id, from a
//!   thread-local xorshift64*) + the parent read from (and the new span made current in) a
//!   thread-local context + one 64-byte record written into a thread-local `rtrb` SPSC ring,
//!   drained by another thread, as instrument-runtime's exporter thread drains its rings. No
//!   histogram, no sampling decision, no accounting: a floor, not a product.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use minstant::Instant;

/// The body every configuration runs: trivial (each bench file writes it out in its own
/// `#[inline(never)]` function, under its own attribute).
#[inline(always)]
pub fn body(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

/// The uninstrumented baseline: the body in an `#[inline(never)]` function.
#[inline(never)]
pub fn work(x: u64) -> u64 {
    body(x)
}

/// Two `minstant::Instant::now()` around the body (a TSC pair through a well-kept crate).
#[inline(never)]
pub fn tsc_pair(x: u64) -> u64 {
    let start = Instant::now();
    let r = body(x);
    let end = Instant::now();
    black_box((start, end));
    r
}

/// Two raw `rdtsc` around the body (on x86_64; elsewhere `minstant`).
#[inline(never)]
pub fn rdtsc_pair(x: u64) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` is available on every x86_64 CPU and has no memory effects.
        let start = unsafe { core::arch::x86_64::_rdtsc() };
        let r = body(x);
        // SAFETY: as above.
        let end = unsafe { core::arch::x86_64::_rdtsc() };
        black_box((start, end));
        r
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        tsc_pair(x)
    }
}

/// Two `std::time::Instant::now()` around the body.
#[inline(never)]
pub fn instant_pair(x: u64) -> u64 {
    let start = std::time::Instant::now();
    let r = body(x);
    let end = std::time::Instant::now();
    black_box((start, end));
    r
}

/// One span record: 64 bytes, one cache line's worth.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct FloorRecord {
    /// Which function (a static callsite's address, in a real design).
    pub callsite: usize,
    /// Trace id, high half.
    pub trace_hi: u64,
    /// Trace id, low half.
    pub trace_lo: u64,
    /// Span id.
    pub span_id: u64,
    /// Parent span id (0 for a root).
    pub parent_id: u64,
    /// Start (TSC instant).
    pub start: Instant,
    /// End (TSC instant).
    pub end: Instant,
    /// Trace flags and status.
    pub flags: u64,
}

const _: () = assert!(std::mem::size_of::<FloorRecord>() == 64);

#[derive(Clone, Copy)]
struct Ctx {
    trace_hi: u64,
    trace_lo: u64,
    span_id: u64,
}

const NO_CTX: Ctx = Ctx {
    trace_hi: 0,
    trace_lo: 0,
    span_id: 0,
};

struct Local {
    current: Cell<Ctx>,
    rng: Cell<u64>,
    ring: RefCell<Option<Ring>>,
}

struct Ring {
    producer: rtrb::Producer<FloorRecord>,
    capacity: usize,
    woke: bool,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            current: Cell::new(NO_CTX),
            rng: Cell::new(0),
            ring: RefCell::new(None),
        }
    };
}

/// Capacity of each thread's floor ring (same default as instrument-runtime: 4096).
pub static FLOOR_RING_CAPACITY: AtomicU64 = AtomicU64::new(4096);
static WRITTEN: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

#[inline]
fn next_u64(rng: &Cell<u64>) -> u64 {
    let mut x = rng.get();
    if x == 0 {
        x = seed();
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng.set(x);
    x.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1
}

#[cold]
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish() | 1
}

/// The floor span around the body: see the module docs.
#[inline(never)]
pub fn floor_span(x: u64) -> u64 {
    LOCAL.with(|l| {
        let parent = l.current.get();
        let (trace_hi, trace_lo) = if parent.trace_lo != 0 {
            (parent.trace_hi, parent.trace_lo)
        } else {
            (next_u64(&l.rng), next_u64(&l.rng))
        };
        let ctx = Ctx {
            trace_hi,
            trace_lo,
            span_id: next_u64(&l.rng),
        };
        l.current.set(ctx);
        let start = Instant::now();
        let r = body(x);
        let end = Instant::now();
        l.current.set(parent);
        let record = FloorRecord {
            callsite: floor_span as fn(u64) -> u64 as usize,
            trace_hi,
            trace_lo,
            span_id: ctx.span_id,
            parent_id: parent.span_id,
            start,
            end,
            flags: 1,
        };
        let mut ring = l.ring.borrow_mut();
        ring.get_or_insert_with(Ring::register).push(record);
        r
    })
}

impl Ring {
    #[cold]
    fn register() -> Ring {
        let capacity = FLOOR_RING_CAPACITY.load(Ordering::Relaxed).max(2) as usize;
        let (producer, consumer) = rtrb::RingBuffer::new(capacity);
        drainer()
            .register
            .send(consumer)
            .expect("floor drainer alive");
        drainer().thread.unpark();
        Ring {
            producer,
            capacity,
            woke: false,
        }
    }

    #[inline]
    fn push(&mut self, record: FloorRecord) {
        if self.producer.push(record).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Wake the drainer once when the ring passes half full (the runtime's rule). The
        // cached view reads only this thread's line; the consumer's is read only below half.
        if self.producer.cached_slots() >= self.capacity / 2 {
            return;
        }
        if self.producer.slots() >= self.capacity / 2 {
            self.woke = false;
        } else if !self.woke {
            self.woke = true;
            drainer().thread.unpark();
        }
    }
}

struct Drainer {
    thread: std::thread::Thread,
    register: Sender<rtrb::Consumer<FloorRecord>>,
    flush: Mutex<Sender<SyncSender<()>>>,
}

fn drainer() -> &'static Drainer {
    static DRAINER: OnceLock<Drainer> = OnceLock::new();
    DRAINER.get_or_init(|| {
        let (register, new_rings) = mpsc::channel();
        let (flush, flushes) = mpsc::channel();
        let join = std::thread::Builder::new()
            .name("floor-drainer".into())
            .spawn(move || drain_loop(new_rings, flushes))
            .expect("spawn floor drainer");
        Drainer {
            thread: join.thread().clone(),
            register,
            flush: Mutex::new(flush),
        }
    })
}

fn drain_loop(new_rings: Receiver<rtrb::Consumer<FloorRecord>>, flushes: Receiver<SyncSender<()>>) {
    let mut rings = Vec::new();
    let mut checksum = 0u64;
    loop {
        while let Ok(r) = new_rings.try_recv() {
            rings.push(r);
        }
        let mut n = 0;
        for ring in &mut rings {
            while let Ok(rec) = ring.pop() {
                checksum = checksum.wrapping_add(rec.span_id);
                n += 1;
            }
        }
        WRITTEN.fetch_add(n, Ordering::Relaxed);
        black_box(checksum);
        while let Ok(done) = flushes.try_recv() {
            // Drain again so everything pushed before the request is consumed.
            for ring in &mut rings {
                while let Ok(rec) = ring.pop() {
                    checksum = checksum.wrapping_add(rec.span_id);
                    WRITTEN.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = done.send(());
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

/// Empties every floor ring (on the drainer thread) and waits until it is done.
pub fn floor_flush() {
    let d = drainer();
    let (tx, rx) = mpsc::sync_channel(1);
    d.flush
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(tx)
        .expect("floor drainer alive");
    d.thread.unpark();
    let _ = rx.recv_timeout(Duration::from_secs(10));
}

/// Records drained by the floor drainer, and records dropped because a ring was full.
pub fn floor_counts() -> (u64, u64) {
    (
        WRITTEN.load(Ordering::Relaxed),
        DROPPED.load(Ordering::Relaxed),
    )
}
