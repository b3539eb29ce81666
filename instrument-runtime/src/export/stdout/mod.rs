//! The stdout exporter: JSON lines for machines (the default), or a span tree for humans.
//!
//! # JSON lines
//!
//! One JSON object per line: one per span, one per log record, one per metric series.
//! Field names follow OpenTelemetry's so logs and traces join in any log backend
//! (`trace_id` as 32 lowercase hex digits, `span_id` as 16).
//!
//! | `kind`     | fields |
//! |------------|--------|
//! | `"span"`   | `trace_id`, `span_id`, `parent_span_id` (hex or `null`), `trace_flags` (`"01"`), `name`, `target`, `module`, `file`, `line`, `level` (`"INFO"`), `start_time_unix_nano`, `end_time_unix_nano`, `duration_ns`, `status` (`"unset"`/`"ok"`/`"error"`), `status_message` (only with `"error"`), `attributes` (object); only when present: `span_kind` (`"server"`, ...), `events` (`name`, `time_unix_nano`, `attributes`, `dropped_attributes_count`), `links` (`trace_id`, `span_id`), `dropped` (`attributes`, `events`, `links` counts) |
//! | `"log"`    | `timestamp_unix_nano`, `severity_text` (`"INFO"`), `severity_number` (OTel: 1/5/9/13/17), `target`, `body`, `trace_id`, `span_id` (hex or `null`), `trace_flags`, `module`, `file`, `line` (`null` when unknown), `attributes` |
//! | `"metric"` | `name`, `unit`, `type` (`"counter"`/`"gauge"`/`"histogram"`), `labels` (object of strings), `start_time_unix_nano`, `time_unix_nano`; `value` for counters and gauges; `count`, `sum`, `buckets` for histograms |
//!
//! Every line also has `"service"` (the resource's `service.name`) when the batch carries a
//! resource. Histogram `buckets` are **cumulative**, as Prometheus' `le` buckets: each entry
//! `{"le": bound, "count": n}` counts the observations `<= bound`, and the last entry is
//! `{"le": "Infinity", "count": <count>}`.
//!
//! Output is strict JSON (RFC 8259): a float that is NaN or infinite (an attribute, a gauge, a
//! sum or a bound) is written as the string `"NaN"`, `"Infinity"` or `"-Infinity"`, the
//! spelling OTLP/JSON and protobuf's JSON mapping use. Objects are built with `serde_json`,
//! never by pasting strings, so quotes, newlines and control characters in user data are
//! always escaped. An attribute key that occurs twice keeps its last value.
//!
//! # Pretty
//!
//! With `INSTRUMENT_STDOUT=pretty` (see [`StdoutExporter::from_env`]) or
//! [`StdoutExporter::pretty`], spans are printed as one indented tree per trace, with the log
//! records of a span printed under it:
//!
//! ```text
//! handle_request [trace 4bf92f35…] 1.20ms ok
//!   ├─ load_cart 310µs
//!   │    INFO loading cart
//!   └─ charge 800µs error: card declined
//! ```
//!
//! Children end before their parents, so the spans of one trace arrive over several batches.
//! The exporter keeps them until the root span (no parent) arrives, then prints the tree. The
//! pipeline hands a cycle's log records over before its spans, so a span's logs are already
//! there when the span arrives, whatever the batch boundaries; logs print under their span in
//! timestamp order. A trace whose root has not arrived [`StdoutExporter::pending_timeout`]
//! (default 5 s) after its first record (a root in another process, or one that never ends)
//! is printed as it is within that time plus [`POLL_INTERVAL`](crate::export::POLL_INTERVAL)
//! (the pipeline polls idle exporters), with its parentless spans marked
//! `(orphan: parent … not seen)`; so is everything at [`Exporter::flush`] and
//! [`Exporter::shutdown`], and everything once more than [`StdoutExporter::pending_limit`]
//! records wait. Logs outside any trace print as plain lines at once; metrics print one line
//! per series at each snapshot.
//!
//! Waiting records are reported by [`Exporter::held`]: they count as in flight until printed,
//! then as exported, or as dropped if that write fails.
//!
//! # Write failures
//!
//! Output goes to file descriptor 1 itself (after flushing Rust's own `stdout` buffer, under
//! its lock, so lines never interleave with `println!`): a closed stdout (`EBADF`, which
//! `std::io::Stdout` silently reports as success) or a pipe with no reader (`EPIPE`) makes the
//! export fail, and the records count as dropped `export_failed`, never as exported.

mod json;
mod pretty;

use std::io::{self, Write};
use std::time::{Duration, Instant};

use super::{Batch, ExportError, Exporter, Held};
use json::render_json_batch;
use pretty::{render_pretty_batch, render_trace, Pending};

/// The environment variable [`StdoutExporter::from_env`] reads: `json` (the default) or
/// `pretty`, ASCII case-insensitive.
pub const MODE_ENV_VAR: &str = "INSTRUMENT_STDOUT";

/// Records (spans + logs) the pretty mode keeps while it waits for root spans.
pub const DEFAULT_PENDING_LIMIT: usize = 10_000;

/// How long the pretty mode waits for more spans of a trace before printing it without root.
pub const DEFAULT_PENDING_TIMEOUT: Duration = Duration::from_secs(5);

/// What the stdout exporter writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum StdoutMode {
    /// One JSON object per line (see the [module docs](self)).
    #[default]
    Json,
    /// An indented span tree per trace, for humans.
    Pretty,
}

/// Writes batches to stdout (or any [`Write`]) as JSON lines or as a pretty span tree.
///
/// Each batch is rendered into a buffer first and written with one `write_all` (for stdout:
/// one lock), so lines from other threads never land in the middle of a batch. A failed write
/// (a closed pipe, a full disk) is returned as a permanent [`ExportError`], never a panic.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use instrument_runtime::export::stdout::{StdoutExporter, StdoutMode};
/// use instrument_runtime::{Batch, Exporter};
///
/// // Production: stdout, the mode chosen by INSTRUMENT_STDOUT (JSON unless it says "pretty").
/// let _exporter = StdoutExporter::from_env();
///
/// // Tests: capture the output.
/// #[derive(Clone, Default)]
/// struct Shared(Arc<Mutex<Vec<u8>>>);
/// impl std::io::Write for Shared {
///     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
///         self.0.lock().unwrap().extend_from_slice(buf);
///         Ok(buf.len())
///     }
///     fn flush(&mut self) -> std::io::Result<()> {
///         Ok(())
///     }
/// }
/// let out = Shared::default();
/// let mut exporter = StdoutExporter::with_writer(out.clone(), StdoutMode::Json);
/// exporter.export(&Batch::default()).unwrap();
/// assert!(out.0.lock().unwrap().is_empty());
/// ```
pub struct StdoutExporter<W = StdoutFd> {
    /// Where lines go.
    writer: W,
    /// JSON or pretty; fixed at construction.
    mode: StdoutMode,
    /// Rendered text of the current batch; kept to reuse its allocation.
    buf: Vec<u8>,
    /// Pretty mode: traces waiting for their root span.
    pending: Pending,
}

/// The process's standard output, written through file descriptor 1 so that a closed or
/// broken stdout is reported as an error (see the [module docs](self#write-failures)).
#[derive(Debug, Default, Clone, Copy)]
pub struct StdoutFd;

impl Write for StdoutFd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Rust's own buffer first, under its lock, so our lines never land inside a partial
        // line of the application's `print!`.
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        let _ = lock.flush();
        write_fd1(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(unix)]
#[allow(
    unsafe_code,
    reason = "write(2) on fd 1: the other FFI call of the crate (with fork.rs' pthread_atfork)"
)]
fn write_fd1(buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `write(2)` on fd 1 with a valid pointer/length pair; we never close the fd.
    let n = unsafe { libc::write(1, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(not(unix))]
fn write_fd1(buf: &[u8]) -> io::Result<usize> {
    io::stdout().lock().write(buf)
}

impl StdoutExporter<StdoutFd> {
    /// Writes to stdout in the mode named by [`MODE_ENV_VAR`] (`INSTRUMENT_STDOUT`), read
    /// now. Unset or empty means JSON; an invalid value is reported once per process on
    /// stderr, and JSON is used.
    #[must_use]
    pub fn from_env() -> Self {
        Self::with_writer(StdoutFd, mode_from_env())
    }

    /// Writes JSON lines to stdout.
    #[must_use]
    pub fn json() -> Self {
        Self::with_writer(StdoutFd, StdoutMode::Json)
    }

    /// Writes pretty span trees to stdout.
    #[must_use]
    pub fn pretty() -> Self {
        Self::with_writer(StdoutFd, StdoutMode::Pretty)
    }
}

impl<W> StdoutExporter<W> {
    /// Writes to `writer` in `mode` (tests pass a shared buffer here).
    #[must_use]
    pub fn with_writer(writer: W, mode: StdoutMode) -> Self {
        StdoutExporter {
            writer,
            mode,
            buf: Vec::new(),
            pending: Pending::new(DEFAULT_PENDING_LIMIT, DEFAULT_PENDING_TIMEOUT),
        }
    }

    /// Pretty mode: once more than `limit` records (spans + logs) wait for their root span,
    /// every waiting trace is printed at once. Default [`DEFAULT_PENDING_LIMIT`].
    #[must_use]
    pub fn pending_limit(mut self, limit: usize) -> Self {
        self.pending.limit = limit;
        self
    }

    /// Pretty mode: a trace that received nothing new for `timeout` is printed without its
    /// root (which may live in another process). Default [`DEFAULT_PENDING_TIMEOUT`].
    #[must_use]
    pub fn pending_timeout(mut self, timeout: Duration) -> Self {
        self.pending.timeout = timeout;
        self
    }

    /// The mode this exporter writes in.
    #[must_use]
    pub fn mode(&self) -> StdoutMode {
        self.mode
    }
}

impl<W: Write> StdoutExporter<W> {
    /// Writes what was rendered into `buf`, then flushes so output shows up per batch.
    fn write_buf(&mut self) -> Result<(), ExportError> {
        let result = write_and_flush(&mut self.writer, &self.buf);
        self.buf.clear();
        result
    }

    /// Pretty mode: renders every waiting trace (flush, shutdown).
    fn render_all_pending(&mut self) {
        for trace in self.pending.take_all() {
            render_trace(&mut self.buf, &trace);
        }
    }
}

impl<W> std::fmt::Debug for StdoutExporter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdoutExporter")
            .field("mode", &self.mode)
            .field("pending_traces", &self.pending.traces.len())
            .field("pending_records", &self.pending.records)
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send + 'static> Exporter for StdoutExporter<W> {
    fn name(&self) -> &'static str {
        "stdout"
    }

    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        match self.mode {
            StdoutMode::Json => render_json_batch(&mut self.buf, batch)?,
            StdoutMode::Pretty => {
                let ready = self.pending.admit(batch, Instant::now());
                render_pretty_batch(&mut self.buf, batch, &ready);
            }
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        self.write_buf()
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        self.render_all_pending();
        self.write_buf()
    }

    fn shutdown(&mut self) -> Result<(), ExportError> {
        self.flush()
    }

    fn held(&self) -> Held {
        Held {
            spans: self.pending.spans as u64,
            logs: self.pending.logs as u64,
        }
    }

    fn poll(&mut self) -> Result<(), ExportError> {
        if self.mode != StdoutMode::Pretty || self.pending.records == 0 {
            return Ok(());
        }
        for trace in self.pending.take_overdue(Instant::now()) {
            render_trace(&mut self.buf, &trace);
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        self.write_buf()
    }
}

fn write_and_flush(writer: &mut impl Write, bytes: &[u8]) -> Result<(), ExportError> {
    writer
        .write_all(bytes)
        .and_then(|()| writer.flush())
        .map_err(|e| ExportError::permanent(format!("stdout exporter: write failed: {e}")))
}

// ---------------------------------------------------------------------------------------------
// Mode selection
// ---------------------------------------------------------------------------------------------

/// Reads [`MODE_ENV_VAR`]; an invalid value is reported once per process, then JSON is used.
fn mode_from_env() -> StdoutMode {
    let raw = std::env::var(MODE_ENV_VAR);
    let parsed = match &raw {
        Err(std::env::VarError::NotPresent) => Ok(StdoutMode::Json),
        Err(std::env::VarError::NotUnicode(v)) => Err(format!("{v:?}")),
        Ok(v) => parse_mode(v).ok_or_else(|| format!("{v:?}")),
    };
    parsed.unwrap_or_else(|shown| {
        crate::diag::warn(format!(
            "invalid {MODE_ENV_VAR}={shown} (expected \"json\" or \"pretty\"); using json"
        ));
        StdoutMode::Json
    })
}

/// `json` / `pretty` (any ASCII case, surrounding blanks ignored); empty means JSON.
fn parse_mode(value: &str) -> Option<StdoutMode> {
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("json") {
        Some(StdoutMode::Json)
    } else if value.eq_ignore_ascii_case("pretty") {
        Some(StdoutMode::Pretty)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
