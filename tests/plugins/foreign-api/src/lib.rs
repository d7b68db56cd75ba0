//! Test plugin: a collector of a JSON API built against the contract's WIT
//! alone (wit-bindgen, no SDK), the Rust third of the foreign plugins that
//! `tests/e2e/credentials.rs` runs beside their Python and JavaScript twins
//! (`foreign-api-py`, `foreign-api-js`), which do the same:
//!
//! - `POST {api}` with `Accept` and `Content-Type` headers and a JSON body;
//!   the answer's `value` is `foreign_api_value`, and whatever the API
//!   echoes (the body's `echo`, the `x-echo-authorization` and
//!   `authorization` headers) becomes labels of `foreign_api_seen` and is
//!   logged, so that a credential reaching the plugin would show;
//! - `GET {redirect}`, following redirects: its status is
//!   `foreign_api_status{call="redirect"}`.

#[allow(missing_docs, unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../../plugins/sdk/wit",
        world: "plugin",
    });
}

use std::cell::RefCell;

use bindings::exports::wasm_exporter::plugin::collector;
use bindings::wasm_exporter::plugin::fetch::{self, Request};
use bindings::wasm_exporter::plugin::host::{self, Level};
use bindings::wasm_exporter::plugin::types::{
    CollectError, Collection, InitError, MetricFamily, MetricKind, PluginMetadata, SampleValue,
    Series,
};

thread_local! {
    static CONFIG: RefCell<(String, String)> = const { RefCell::new((String::new(), String::new())) };
}

/// The plugin.
pub struct ForeignApi;

fn request(target: &str) -> Request {
    Request {
        target: target.to_owned(),
        method: None,
        headers: Vec::new(),
        body: None,
        tls_verify: true,
        timeout_ms: Some(5000),
        follow_redirects: false,
        read_until: None,
        max_bytes: None,
    }
}

/// Collects families as the contract has them: label values in one table.
#[derive(Default)]
struct Out {
    strings: Vec<String>,
    families: Vec<MetricFamily>,
}

impl Out {
    /// Adds a series to family `name` (made on first use).
    fn gauge(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let mut values = Vec::new();
        for (_, v) in labels {
            values.push(self.strings.len() as u32);
            self.strings.push((*v).to_owned());
        }
        let at = match self.families.iter().position(|f| f.name == name) {
            Some(at) => at,
            None => {
                self.families.push(MetricFamily {
                    name: name.to_owned(),
                    help: format!("{name} of the foreign plugins."),
                    unit: String::new(),
                    kind: MetricKind::Gauge,
                    label_names: labels.iter().map(|(n, _)| (*n).to_owned()).collect(),
                    label_values: Vec::new(),
                    series: Vec::new(),
                    native_histograms: Vec::new(),
                });
                self.families.len() - 1
            }
        };
        let family = &mut self.families[at];
        family.label_values.extend(values);
        family.series.push(Series {
            value: SampleValue::Gauge(value),
            timestamp: None,
            created: None,
        });
    }
}

impl collector::Guest for ForeignApi {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "foreign-api".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "a JSON API collector written against the WIT alone".into(),
        }
    }

    fn init(config: String) -> Result<(), InitError> {
        let v: serde_json::Value =
            serde_json::from_str(&config).map_err(|e| InitError::InvalidConfig(e.to_string()))?;
        let field = |k: &str| {
            v[k].as_str()
                .map(str::to_owned)
                .ok_or_else(|| InitError::InvalidConfig(format!("{k}: a URL")))
        };
        let urls = (field("api")?, field("redirect")?);
        CONFIG.with(|c| *c.borrow_mut() = urls);
        Ok(())
    }

    fn collect() -> Result<Collection, CollectError> {
        let (api, redirect) = CONFIG.with(|c| c.borrow().clone());
        let mut out = Out::default();
        let mut post = request(&api);
        post.method = Some("POST".into());
        // A token of its own, which the grant's replaces.
        post.headers = vec![
            ("Authorization".into(), "Bearer made-by-the-plugin".into()),
            ("Accept".into(), "application/json".into()),
            ("Content-Type".into(), "application/json".into()),
        ];
        post.body = Some(br#"{"query":"up","from":"rust"}"#.to_vec());
        match fetch::fetch(&post) {
            Ok(r) => {
                let text = String::from_utf8_lossy(&r.body).into_owned();
                host::log(Level::Info, &format!("api answered {}: {text}", r.status));
                for (name, value) in &r.headers {
                    host::log(Level::Info, &format!("api header {name}: {value}"));
                }
                let header = |n: &str| {
                    r.headers
                        .iter()
                        .find(|(k, _)| k == n)
                        .map_or("", |(_, v)| v.as_str())
                        .to_owned()
                };
                let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                out.gauge(
                    "foreign_api_status",
                    &[("lang", "rust"), ("call", "api")],
                    f64::from(r.status),
                );
                out.gauge(
                    "foreign_api_value",
                    &[("lang", "rust")],
                    json["value"].as_f64().unwrap_or(f64::NAN),
                );
                let echo = json["echo"].as_str().unwrap_or("").to_owned();
                let echoed = header("x-echo-authorization");
                let reflected = header("authorization");
                out.gauge(
                    "foreign_api_seen",
                    &[
                        ("lang", "rust"),
                        ("echo", &echo),
                        ("header", &echoed),
                        ("authorization", &reflected),
                    ],
                    1.0,
                );
            }
            Err(e) => host::log(Level::Warn, &format!("api: {e:?}")),
        }
        let mut follow = request(&redirect);
        follow.follow_redirects = true;
        let status = match fetch::fetch(&follow) {
            Ok(r) => f64::from(r.status),
            Err(e) => {
                host::log(Level::Warn, &format!("redirect: {e:?}"));
                -1.0
            }
        };
        out.gauge(
            "foreign_api_status",
            &[("lang", "rust"), ("call", "redirect")],
            status,
        );
        Ok(Collection {
            strings: out.strings,
            families: out.families,
        })
    }
}

// Exported for the component only: a native build (the workspace's tests)
// links without it.
#[cfg(target_arch = "wasm32")]
bindings::export!(ForeignApi with_types_in bindings);
