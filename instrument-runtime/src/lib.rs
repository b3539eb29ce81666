//! instrument-runtime (crate docs are written in full once the pipeline lands).
#![warn(missing_docs)]

pub mod context {
    //! Ids and the current-span context.
    pub mod id;
}
pub mod export;
mod level;

pub use context::id::{SpanId, TraceId};
pub use export::{Batch, ExportError, ExportErrorKind, Exporter, NoopExporter};
pub use level::Level;
