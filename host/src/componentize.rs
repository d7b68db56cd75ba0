//! `wasm_exporter plugin componentize IN.wasm -o OUT.wasm`: a WASI preview1
//! core module (stock Go's `GOOS=wasip1 -buildmode=c-shared` reactor, or any
//! toolchain's) made into a component of the current contract, so that an
//! author needs neither wasm-tools nor the adapter file. The contract's WIT
//! is embedded unless the module carries its own (`component-type` custom
//! sections, as wit-bindgen's Rust and C output do); the world is
//! `probe-plugin` when the module exports `probe`, else `plugin`; WASI
//! preview1 calls are adapted to WASI 0.2 by the reactor adapter of the
//! wasmtime this host is built with.

use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::Resolve;

use crate::runtime::contract::{PACKAGE, PROBER, Version};

/// The contract, as the SDKs carry it.
const CONTRACT: &str = include_str!("../../plugins/sdk/wit/plugin.wit");

/// Why a module could not be made a component.
#[derive(Debug, thiserror::Error)]
pub enum ComponentizeError {
    /// The input is a component already.
    #[error("{0} is a component already: copy it into the plugins directory as it is")]
    AlreadyComponent(String),
    /// The input is no WebAssembly module.
    #[error("{0} is not a WebAssembly core module: {1}")]
    NotModule(String, String),
    /// The contract's WIT did not parse (a build of this binary gone wrong).
    #[error("the contract's WIT: {0}")]
    Contract(String),
    /// wit-component refused the module: what it exports or imports does
    /// not fit the contract's world.
    #[error(
        "{0} does not fit {PACKAGE}@{version}, world {1}: {2:#}",
        version = Version::CURRENT.as_str()
    )]
    Encode(String, &'static str, anyhow::Error),
}

/// What the module exports and carries, read from its sections.
struct Shape {
    probes: bool,
    has_metadata: bool,
}

fn shape(name: &str, core: &[u8]) -> Result<Shape, ComponentizeError> {
    let mut shape = Shape {
        probes: false,
        has_metadata: false,
    };
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        let payload =
            payload.map_err(|e| ComponentizeError::NotModule(name.into(), e.to_string()))?;
        match payload {
            wasmparser::Payload::Version {
                encoding: wasmparser::Encoding::Component,
                ..
            } => return Err(ComponentizeError::AlreadyComponent(name.into())),
            wasmparser::Payload::ExportSection(exports) => {
                for export in exports.into_iter().flatten() {
                    shape.probes |= export.name.starts_with(&format!("{PROBER}#"));
                }
            }
            wasmparser::Payload::CustomSection(section) => {
                shape.has_metadata |= section.name().starts_with("component-type");
            }
            _ => {}
        }
    }
    Ok(shape)
}

/// Makes `core` (read from `name`) a component of the current contract.
pub fn componentize(name: &str, core: &[u8]) -> Result<Vec<u8>, ComponentizeError> {
    let shape = shape(name, core)?;
    let world = if shape.probes {
        "probe-plugin"
    } else {
        "plugin"
    };
    let mut module = core.to_vec();
    if !shape.has_metadata {
        let mut resolve = Resolve::default();
        let package = resolve
            .push_str("plugin.wit", CONTRACT)
            .map_err(|e| ComponentizeError::Contract(format!("{e:#}")))?;
        let id = resolve
            .select_world(&[package], Some(world))
            .map_err(|e| ComponentizeError::Contract(format!("{e:#}")))?;
        embed_component_metadata(&mut module, &resolve, id, StringEncoding::UTF8)
            .map_err(|e| ComponentizeError::Encode(name.into(), world, e))?;
    }
    ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| {
            encoder
                .adapter(
                    "wasi_snapshot_preview1",
                    wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
                )?
                .validate(true)
                .encode()
        })
        .map_err(|e| ComponentizeError::Encode(name.into(), world, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_and_a_non_module_are_refused_with_the_reason() {
        let component = b"\0asm\x0d\0\x01\0";
        assert!(matches!(
            componentize("c.wasm", component),
            Err(ComponentizeError::AlreadyComponent(_))
        ));
        assert!(matches!(
            componentize("x.wasm", b"not wasm"),
            Err(ComponentizeError::NotModule(..))
        ));
    }

    #[test]
    fn a_module_without_the_contracts_exports_is_refused_naming_the_world() {
        // An empty core module: imports nothing, exports nothing.
        let empty = b"\0asm\x01\0\0\0";
        let err = componentize("empty.wasm", empty).unwrap_err().to_string();
        assert!(
            err.starts_with("empty.wasm does not fit wasm-exporter:plugin@0.3.0, world plugin: "),
            "{err}"
        );
    }
}
