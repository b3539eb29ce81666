//! The stdout exporter (being written).
