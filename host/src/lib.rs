//! wasm_exporter: a Prometheus exporter whose collectors are sandboxed
//! WebAssembly components.
//!
//! The binary (`main.rs`) is a thin shell over this library. A scrape runs
//! one way: plugin → WIT → validate → merge → encode → HTTP.
//! - [`cli`]: the command-line flags, and the validated settings built from
//!   them; [`manpage`]: the man pages made from them;
//! - [`check`]: `wasm_exporter check`, one plugin run without serving;
//! - [`scaffold`]: `wasm_exporter plugin new`, a plugin project anywhere;
//! - [`config`]: each plugin's `NAME.yml`;
//! - [`duration`]: the one duration grammar (Prometheus'), shared with the SDK;
//! - [`reason`]: the one list of failure reasons;
//! - [`runtime`]: the wasmtime engine, stores, limits, host capabilities and
//!   plugin calls;
//! - [`catalogue`]: the plugins of a directory, each plugin's supervisor
//!   (collect → outcome) and status;
//! - [`exposition`]: the data model, validation, merge, the render step and
//!   encoders (pure);
//! - [`scrape`]: one scrape: collect every plugin, validate, merge, record
//!   statuses, add the host's own metrics;
//! - [`probe`]: one `/probe`, beside the scrape: module, grants, deadline,
//!   one probe call, its status;
//! - [`selfmetrics`]: the host's own metrics, in one room: statuses, probe
//!   and handler counts, process metrics;
//! - [`http`]: the HTTP server, routes and landing page;
//! - [`reload`]: reloading the plugins on a change, SIGHUP or `POST /-/reload`;
//! - [`webconfig`]: `--web.config.file` (TLS, basic auth, headers).

#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "runtime")]
pub mod catalogue;
#[cfg(feature = "runtime")]
pub mod check;
pub mod cli;
#[cfg(feature = "runtime")]
pub mod componentize;
pub mod config;
#[path = "../../plugins/sdk/src/duration.rs"]
pub mod duration;
pub mod exposition;
pub mod fetch_spec;
#[cfg(feature = "runtime")]
mod handshake;
#[cfg(feature = "runtime")]
pub mod http;
pub mod logging;
pub mod manpage;
#[cfg(feature = "runtime")]
pub mod probe;
pub mod reason;
#[cfg(feature = "runtime")]
pub mod reload;
pub mod runtime;
pub mod scaffold;
#[cfg(feature = "runtime")]
pub mod scrape;
pub mod secrets;
#[cfg(feature = "runtime")]
pub mod selfmetrics;
#[cfg(feature = "runtime")]
pub mod webconfig;
