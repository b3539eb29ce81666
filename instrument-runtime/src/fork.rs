//! Fork safety (pre-fork servers fork after the runtime started).
//!
//! A forked child has only the thread that called `fork`: the exporter thread is gone, and the
//! child's memory holds copies of the parent's rings and metric shards. In the child, a
//! `pthread_atfork` handler (single-threaded, before any user code runs):
//! - forgets the parent's rings, shards and pending registrations, so the child never
//!   re-exports the parent's buffered records nor double counts its metrics (the child's
//!   counters start from zero);
//! - resets the drop counters and reseeds this thread's id generator, so the child never makes
//!   the parent's trace ids;
//! - marks a restart as pending: the child's first record, first metric shard, flush or
//!   `stats()` starts a fresh exporter thread with exporters re-created from the same recipe
//!   (the default feature exporters, or [`Builder::exporter_factory`](crate::Builder)). An
//!   exporter given as an instance cannot be re-created: the child then records nothing, and
//!   says so once on stderr.
//!
//! - closes the sockets the parent marked [`CloseInChild`] (the Prometheus endpoint's listener,
//!   the multiprocess group's sockets): a worker never keeps its parent's port bound, nor a
//!   connection whose end the parent's peer must see.
//!
//! Like OpenTelemetry Python and Ruby, the child starts a new worker and never touches the
//! parent's queue. Limitation: a span that was open across the `fork` closes in both processes;
//! fork outside instrumented functions (as pre-fork servers do, from `main`).

use crate::switches::{self, ForkHooks};

// The crate denies `unsafe_code`; this module is allowed it for its one block (registering
// the `pthread_atfork` handler), which carries its SAFETY comment.

/// Installs the pipeline's `hooks` and registers the fork handler (once per process).
pub(crate) fn register(hooks: ForkHooks) {
    switches::install_fork_hooks(hooks);
    #[cfg(unix)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: `in_child` is a plain `extern "C" fn` with no captured state that lives for
            // the whole program; pthread_atfork only stores the pointer. A non-zero result
            // (ENOMEM) just means fork safety is unavailable, which we report.
            let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            if rc != 0 {
                crate::config::warn_once(format!(
                    "pthread_atfork failed ({rc}); forked children will not export"
                ));
            }
        });
    }
}

#[cfg(unix)]
extern "C" fn in_child() {
    // Unwinding out of an `extern "C"` fn aborts: never let a panic escape.
    let _ = std::panic::catch_unwind(|| {
        crate::local::forget_after_fork();
        crate::buffer::registry::forget_after_fork();
        crate::stats::reset_after_fork();
        crate::collector::thread::forget_after_fork();
        switches::forget_pipeline_after_fork();
        close_inherited();
    });
}

/// How many sockets can be marked [`CloseInChild`] at once; past this a socket is not
/// marked (a forked child then keeps its copy, as it would without this).
#[cfg(unix)]
const CLOSE_SLOTS: usize = 2048;

/// Sockets a forked child must not keep, by fd (`-1`: free). Lock-free, so a child can use it
/// even when the fork interrupted a thread of the parent in the middle of an update.
#[cfg(unix)]
static CLOSE_IN_CHILD: [std::sync::atomic::AtomicI32; CLOSE_SLOTS] =
    [const { std::sync::atomic::AtomicI32::new(-1) }; CLOSE_SLOTS];

#[cfg(unix)]
fn close_inherited() {
    use std::sync::atomic::Ordering;
    for slot in &CLOSE_IN_CHILD {
        let fd = slot.swap(-1, Ordering::AcqRel);
        if fd >= 0 {
            // SAFETY: every registered fd is owned by a `CloseInChild` whose owner is a thread
            // of the parent (an accept or connection thread), which does not exist in the
            // child, so nothing here reads, writes or closes it again: a `CloseInChild`
            // dropped in another process than its own forgets its value instead of closing.
            unsafe { libc::close(fd) };
        }
    }
}

/// A socket of this process that a forked child closes at once (see the module docs): for
/// listeners and connections owned by this process's own threads.
#[cfg(unix)]
#[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
pub(crate) struct CloseInChild<T: std::os::fd::AsRawFd> {
    inner: std::mem::ManuallyDrop<T>,
    fd: std::os::fd::RawFd,
    pid: u32,
}

#[cfg(unix)]
#[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
impl<T: std::os::fd::AsRawFd> CloseInChild<T> {
    /// Registers `inner`'s fd for closing in forked children.
    pub(crate) fn new(inner: T) -> Self {
        use std::sync::atomic::Ordering;
        let fd = inner.as_raw_fd();
        for slot in &CLOSE_IN_CHILD {
            if slot
                .compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                break;
            }
        }
        CloseInChild {
            inner: std::mem::ManuallyDrop::new(inner),
            fd,
            pid: std::process::id(),
        }
    }
}

#[cfg(unix)]
impl<T: std::os::fd::AsRawFd> std::ops::Deref for CloseInChild<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

#[cfg(unix)]
impl<T: std::os::fd::AsRawFd> std::ops::DerefMut for CloseInChild<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

#[cfg(unix)]
impl<T: std::os::fd::AsRawFd> Drop for CloseInChild<T> {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // A forked child's copy: the fd was closed by the fork handler (or is the
            // parent's); never close it here.
            return;
        }
        // Unmark before closing: once closed, the number may be reused by another file.
        for slot in &CLOSE_IN_CHILD {
            let taken = slot.compare_exchange(
                self.fd,
                -1,
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Relaxed,
            );
            if taken.is_ok() {
                break;
            }
        }
        // SAFETY: `inner` is dropped once, here, and never used after.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.inner) };
    }
}
