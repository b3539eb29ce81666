//! The one channel for the runtime's own warnings: every diagnostic the library prints goes
//! through [`warn`], with one prefix, at most once per distinct message, at most
//! [`MAX_DISTINCT`] messages per process, and never panicking (a closed or broken stderr is
//! ignored; `eprintln!` would panic there).
//!
//! A leaf module: it imports nothing from the crate, so any layer may report through it.

use std::collections::HashSet;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, TryLockError};

/// The prefix of every line.
pub(crate) const PREFIX: &str = "instrument-runtime: ";

/// Distinct messages printed per process before the channel goes quiet (one last line says so).
pub(crate) const MAX_DISTINCT: usize = 64;

static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
/// Set once the "further warnings suppressed" line was printed. Relaxed: a flag read and set
/// under `SEEN`'s lock or by a single racing thread; a duplicate line is harmless.
static SILENCED: AtomicBool = AtomicBool::new(false);

/// Prints `message` once per process on stderr, prefixed; never panics, never blocks on a lock
/// (after a fork the lock may be held by a thread that no longer exists: then it prints).
pub(crate) fn warn(message: impl Into<String>) {
    let message = message.into();
    match first_time(&message) {
        Seen::First => write_line(&message),
        Seen::Again => {}
        Seen::OverLimit => {
            if !SILENCED.swap(true, Ordering::Relaxed) {
                write_line("too many distinct warnings; further warnings are suppressed");
            }
        }
    }
}

enum Seen {
    First,
    Again,
    OverLimit,
}

fn first_time(message: &str) -> Seen {
    let mut guard = match SEEN.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return Seen::First,
    };
    let seen = guard.get_or_insert_with(HashSet::new);
    if seen.contains(message) {
        Seen::Again
    } else if seen.len() >= MAX_DISTINCT {
        Seen::OverLimit
    } else {
        seen.insert(message.to_owned());
        Seen::First
    }
}

fn write_line(message: &str) {
    // One `write_all` of the whole line, so concurrent warnings do not interleave; errors
    // (closed descriptor, broken pipe) are dropped on purpose: a warning must never fail.
    let line = format!("{PREFIX}{message}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_messages_are_reported_once() {
        let msg = "diag test: repeated";
        assert!(matches!(first_time(msg), Seen::First));
        assert!(matches!(first_time(msg), Seen::Again));
    }
}
