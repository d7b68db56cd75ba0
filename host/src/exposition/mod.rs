//! Exposition: the data model, the one validation step and the merge of
//! plugin output, name escaping, the encoders for Prometheus text,
//! OpenMetrics and Prometheus protobuf, and the body buffer they reuse.
//!
//! Everything here is pure (no wasmtime, no I/O), so it is tested directly.

pub mod encode;
pub mod escape;
pub mod fmt;
pub mod merge;
pub mod model;
pub mod negotiate;
pub mod raw;
pub mod render;
pub mod spare;
pub mod validate;

pub use encode::{openmetrics, protobuf, text};
