#![allow(missing_docs, unsafe_code, unused_variables, clippy::all)]

//! The only `bindgen!` calls: host-side types and glue generated from each
//! version of the contract the host supports. The current one ships inside
//! the SDK crate (`plugins/sdk/wit/`; `wit/` at the top of the repository
//! points there); older ones are frozen under `host/wit/`. They live in
//! their own module so that generated names (`Config`, `Level`...) never
//! clash with wasmtime's or ours. [`super::contract`] picks the version a
//! component was built for.

/// `wasm-exporter:plugin@0.1.0`: every kind but native histograms.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "wit/v0.1.0",
        world: "plugin",
        imports: { "wasm-exporter:plugin/fetch.fetch": async },
        exports: { default: async },
    });

    pub use self::exports::wasm_exporter::plugin::collector;
    pub use self::wasm_exporter::plugin::{fetch, host, types};
}

/// `wasm-exporter:plugin@0.2.0`, the current version: native histograms
/// and UTF-8 names.
pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../plugins/sdk/wit",
        world: "plugin",
        imports: { "wasm-exporter:plugin/fetch.fetch": async },
        exports: { default: async },
    });

    pub use self::exports::wasm_exporter::plugin::collector;
    pub use self::wasm_exporter::plugin::{fetch, host, types};
}

pub use v0_2::{collector, fetch, host, types};
