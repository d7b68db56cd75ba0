//! Test plugin: a collector that works, beside a prober export whose
//! `probe` takes a `u32` where the contract has the request's parameters.
//! The exporter must refuse the file at load, naming the export, instead
//! of listing a `/probe` module whose every instantiation fails.

#[allow(missing_docs, unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "probe-plugin",
    });
}

use bindings::exports::wasm_exporter::plugin::{collector, prober};
use bindings::wasm_exporter::plugin::types::{CollectError, Collection, InitError, PluginMetadata};

/// The plugin.
pub struct BadProber;

impl collector::Guest for BadProber {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "bad-prober".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "a prober export of the wrong type".into(),
        }
    }

    fn init(_config: String) -> Result<(), InitError> {
        Ok(())
    }

    fn collect() -> Result<Collection, CollectError> {
        Ok(Collection {
            strings: Vec::new(),
            families: Vec::new(),
        })
    }
}

impl prober::Guest for BadProber {
    fn probe(_target: String, _params: u32) -> Result<Collection, CollectError> {
        Ok(Collection {
            strings: Vec::new(),
            families: Vec::new(),
        })
    }
}

// Exported for the component only: a native build (the workspace's tests)
// cannot link symbols named after WIT interfaces.
#[cfg(target_arch = "wasm32")]
bindings::export!(BadProber with_types_in bindings);
