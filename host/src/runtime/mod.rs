//! The wasmtime side: one engine, a store per plugin instance, limits and
//! deadlines, and calls into plugins.

pub mod bindings;
pub mod cache;
mod convert;
pub mod engine;
pub mod fetch;
pub mod instance;
pub mod output;
pub mod state;

pub use engine::{Runtime, RuntimeError};
pub use instance::{Instance, Metadata, PluginError};
