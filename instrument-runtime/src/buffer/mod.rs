//! Per-thread bounded rings (single producer: the thread; single consumer: the exporter
//! thread) and their registration. The ring itself is `rtrb`'s wait-free SPSC ring buffer.

pub(crate) mod inline;
pub(crate) mod record;
pub(crate) mod registry;
pub(crate) mod ring;
