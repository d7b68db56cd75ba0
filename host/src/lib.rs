//! wasm_exporter: a Prometheus exporter whose collectors are sandboxed
//! WebAssembly components.
//!
//! The binary (`main.rs`) is a thin shell over this library:
//! - [`cli`]: the command-line flags;
//! - [`config`]: flags and per-plugin manifests;
//! - [`runtime`]: the wasmtime engine, stores, limits and plugin calls;
//! - [`catalogue`]: finding and compiling the plugins in a directory;
//! - [`exposition`]: the data model, validation, merge and encoders (pure);
//! - [`gather`]: one scrape: collect every plugin concurrently and merge;
//! - [`selfmetrics`]: the host's own metrics;
//! - [`http`]: the HTTP server;
//! - [`reload`]: reloading the plugins on a change, SIGHUP or `POST /-/reload`.
//! - [`webconfig`]: `--web.config.file` (TLS, basic auth, headers).

#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "runtime")]
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod exposition;
#[cfg(feature = "runtime")]
pub mod gather;
#[cfg(feature = "runtime")]
pub mod http;
pub mod logging;
#[cfg(feature = "runtime")]
pub mod reload;
#[cfg(feature = "runtime")]
pub mod runtime;
#[cfg(feature = "runtime")]
pub mod selfmetrics;
#[cfg(feature = "runtime")]
pub mod webconfig;
