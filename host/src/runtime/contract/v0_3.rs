//! `wasm-exporter:plugin@0.3.0`, the current version: 0.3.0's types, and a
//! `fetch` that is a whole HTTP exchange (method, headers, body; status,
//! headers, body back) or a socket exchange with a read bound. Its WIT ships
//! inside the SDK crate (`plugins/sdk/wit/`; `wit/` at the top of the
//! repository points there).

use super::convert::{collector_calls, converter, imports};
use super::prober::prober_version;
use super::{Bindings, Called, Collected, Prepared, Version};

/// What `bindgen!` generates from the SDK's WIT, in a module of its own so
/// that generated names (`Config`, `Level`...) never clash with wasmtime's
/// or ours.
#[allow(missing_docs, unsafe_code, unused_variables, clippy::all)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../plugins/sdk/wit",
        world: "plugin",
        imports: { "wasm-exporter:plugin/fetch.fetch": async },
        exports: { default: async },
    });
}

pub use generated::exports::wasm_exporter::plugin::collector;
pub use generated::wasm_exporter::plugin::{fetch, host, types};
use generated::{Plugin, PluginPre};

/// The version, as in the package name.
pub const VERSION: &str = "0.3.0";

/// The interface a plugin exports to answer `/probe` (the `probe-plugin`
/// world).
pub const PROBER: &str = "wasm-exporter:plugin/prober@0.3.0";

/// The collector interface, whose `collect` a prober's `probe` answers
/// like.
const COLLECTOR: &str = "wasm-exporter:plugin/collector@0.3.0";

prober_version!(Contract0_3);

/// A 0.3.0 request in the host's words: as the plugin built it.
fn host_request(r: fetch::Request) -> crate::runtime::fetch::Request {
    crate::runtime::fetch::Request {
        target: r.target,
        method: r.method,
        headers: r.headers,
        body: r.body,
        tls_verify: r.tls_verify,
        timeout_ms: r.timeout_ms,
        follow_redirects: r.follow_redirects,
        read_until: r.read_until,
        max_bytes: r.max_bytes,
    }
}

/// The host's response in 0.3.0's words, headers and all.
fn wit_response(r: crate::runtime::fetch::Response) -> fetch::Response {
    fetch::Response {
        status: r.status,
        headers: r.headers,
        body: r.body,
        truncated: r.truncated,
    }
}

imports!();
