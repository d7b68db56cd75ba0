#![allow(missing_docs, unsafe_code, unused_variables, clippy::all)]

//! The only `bindgen!` call: host-side types and glue generated from the
//! contract, which ships inside the SDK crate (`plugins/sdk/wit/`; `wit/`
//! at the top of the repository points there). It lives in its own module
//! so that generated names (`Config`, `Level`...) never clash with
//! wasmtime's or ours.

wasmtime::component::bindgen!({
    path: "../plugins/sdk/wit",
    world: "plugin",
    imports: { "wasm-exporter:plugin/fetch.fetch": async },
    exports: { default: async },
});

pub use self::exports::wasm_exporter::plugin::collector;
pub use self::wasm_exporter::plugin::{fetch, host, types};
