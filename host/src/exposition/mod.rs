//! Exposition: the data model, the one validation step and the merge of
//! plugin output, and the encoders for Prometheus text 0.0.4 and
//! OpenMetrics 1.0.
//!
//! Everything here is pure (no wasmtime, no I/O), so it is tested directly.

pub mod encode;
pub mod fmt;
pub mod merge;
pub mod model;
pub mod negotiate;
pub mod raw;
pub mod validate;

pub use encode::{openmetrics, text};
