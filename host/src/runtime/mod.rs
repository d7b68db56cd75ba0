//! The wasmtime side: one engine, a store per plugin instance, limits and
//! deadlines, the host's capabilities, and calls into plugins. Only
//! [`limits`] is pure and always built.

pub mod limits;
pub mod malloc;

#[cfg(feature = "runtime")]
pub mod cache;
#[cfg(feature = "runtime")]
pub mod contract;
#[cfg(feature = "runtime")]
pub mod cpu;
#[cfg(feature = "runtime")]
pub mod dirs;
#[cfg(feature = "runtime")]
pub mod engine;
#[cfg(feature = "runtime")]
pub mod error;
#[cfg(feature = "runtime")]
pub mod fetch;
#[cfg(feature = "runtime")]
pub mod handles;
#[cfg(feature = "runtime")]
pub mod host;
#[cfg(feature = "runtime")]
pub mod instance;
#[cfg(feature = "runtime")]
pub mod output;
#[cfg(feature = "runtime")]
pub mod state;

#[cfg(feature = "runtime")]
pub use engine::{Runtime, RuntimeError};
#[cfg(feature = "runtime")]
pub use instance::{Instance, Metadata, PluginError, Usage};
