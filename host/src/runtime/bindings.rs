#![allow(missing_docs, unsafe_code, unused_variables, clippy::all)]

//! The only `bindgen!` call: host-side types and glue generated from `wit/`.
//! It lives in its own module so that generated names (`Config`, `Level`...)
//! never clash with wasmtime's or ours.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: { "wasm-exporter:plugin/fetch.fetch": async },
    exports: { default: async },
});

pub use self::exports::wasm_exporter::plugin::collector;
pub use self::wasm_exporter::plugin::{fetch, host, types};
