//! Severity levels shared by spans and log records.

use std::fmt;

/// Severity of a span or log record, from least to most severe.
///
/// The order matters for admission under pressure: when a buffer fills up, lower levels are
/// dropped first (see the crate docs, "Backpressure").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// Very verbose diagnostics.
    Trace = 0,
    /// Diagnostics for developers.
    Debug = 1,
    /// Normal operation (the default level of an instrumented function).
    #[default]
    Info = 2,
    /// Something unexpected that was handled.
    Warn = 3,
    /// A failure.
    Error = 4,
}

impl Level {
    /// Lowercase name: `trace`, `debug`, `info`, `warn`, `error`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// Uppercase name, as OpenTelemetry's `severity_text`.
    pub const fn as_upper_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }

    /// OpenTelemetry `SeverityNumber` (TRACE=1, DEBUG=5, INFO=9, WARN=13, ERROR=17).
    pub const fn otel_severity_number(self) -> i32 {
        match self {
            Level::Trace => 1,
            Level::Debug => 5,
            Level::Info => 9,
            Level::Warn => 13,
            Level::Error => 17,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "log")]
impl From<log::Level> for Level {
    fn from(l: log::Level) -> Self {
        match l {
            log::Level::Trace => Level::Trace,
            log::Level::Debug => Level::Debug,
            log::Level::Info => Level::Info,
            log::Level::Warn => Level::Warn,
            log::Level::Error => Level::Error,
        }
    }
}
