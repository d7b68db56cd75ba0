//! Write [wasm_exporter](https://crates.io/crates/wasm-exporter-sdk)
//! collector plugins in Rust.
//!
//! A plugin is a WASI 0.2 component built for `wasm32-wasip2`. The smallest
//! one is a function:
//!
//! ```rust
//! use wasm_exporter_sdk::{CollectError, MetricFamily, export_collect_fn};
//!
//! fn collect() -> Result<Vec<MetricFamily>, CollectError> {
//!     let mut up = MetricFamily::gauge("hello_up", "Whether hello is up.");
//!     up.add_gauge((), 1.0);
//!     Ok(vec![up])
//! }
//!
//! export_collect_fn!(collect);
//! ```
//!
//! A plugin with configuration (the `config:` of its `NAME.yml`) or state
//! kept between scrapes is a type that implements [`Collector`]:
//!
//! ```rust
//! use wasm_exporter_sdk::{export_collector, Collector, CollectError, InitError, MetricFamily};
//!
//! #[derive(serde::Deserialize)]
//! struct Config { room: String }
//!
//! struct Thermometer { room: String, reads: u64 }
//!
//! impl Collector for Thermometer {
//!     type Config = Config;
//!     fn init(config: Config) -> Result<Self, InitError> {
//!         Ok(Thermometer { room: config.room, reads: 0 })
//!     }
//!     fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError> {
//!         self.reads += 1;
//!         let mut temp = MetricFamily::gauge("room_temperature_celsius", "Temperature.")
//!             .with_unit("celsius")
//!             .with_labels(["room"]);
//!         temp.add_gauge([self.room.as_str()], 21.5);
//!         Ok(vec![temp])
//!     }
//! }
//!
//! export_collector!(Thermometer);
//! # use wasm_exporter_sdk::testing;
//! # let families = testing::run::<Thermometer>(r#"{"room": "lab"}"#, 1).unwrap();
//! # assert_eq!(families[0].name, "room_temperature_celsius");
//! ```
//!
//! The crate's `Cargo.toml` needs `crate-type = ["cdylib"]`; then
//! `cargo build --release --target wasm32-wasip2` writes the component, and
//! `wasm_exporter check target/wasm32-wasip2/release/NAME.wasm` runs it as
//! the exporter would. In unit tests, [`testing`] runs a collector natively,
//! with stand-in responses for [`fetch`](fetch::fetch).
//!
//! The contract is `wit/plugin.wit`, shipped inside this crate.

#![deny(missing_docs)]

mod builders;
pub mod config;
mod duration;
pub mod histogram;
pub mod native;
pub mod rules;
pub mod strings;
pub mod summary;
#[cfg(not(target_family = "wasm"))]
pub mod testing;

/// JSON for a collector that reads a JSON API: `serde_json`, the copy the
/// SDK parses `config:` with, so a plugin needs no dependency of its own and
/// its component carries one copy (`json::from_slice::<T>(&body)` on what
/// `fetch` returned, with `#[derive(serde::Deserialize)]` on `T`).
pub use serde_json as json;

pub use builders::{IntoLabelValues, NoConfig};
pub use histogram::Histogram;
pub use native::{NativeHistogram, NativeOptions};
pub use summary::Summary;

#[doc(hidden)]
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod __bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_plugin",
        default_bindings_module: "wasm_exporter_sdk::__bindings",
        additional_derives: [PartialEq],
    });
}

/// The prober export alone (the `probe-export` world), with the types of
/// [`__bindings`]: [`export_prober!`] emits it beside the collector, and the
/// component gets both (the `probe-plugin` world). A plugin that does not
/// probe never emits it and exports no prober.
#[doc(hidden)]
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod __probe_bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "probe-export",
        pub_export_macro: true,
        export_macro_name: "__export_probe",
        default_bindings_module: "wasm_exporter_sdk::__probe_bindings",
        with: {
            "wasm-exporter:plugin/types@0.3.0": crate::__bindings::wasm_exporter::plugin::types,
        },
    });
}

pub use __bindings::wasm_exporter::plugin::types::{
    Bucket, CollectError, Collection, CounterValue, Exemplar, HistogramValue, InitError, Label,
    MetricFamily, MetricKind, NativeBucket, NativeHistogramValue, PluginMetadata, Quantile,
    SampleValue, Series, State, SummaryValue, Timestamp,
};

pub mod fetch {
    //! Requests to the plugin's targets through the host, within the
    //! plugin's `grants.fetch`: HTTP(S) with any method, headers and body,
    //! and unix-socket or TCP exchanges.
    //!
    //! ```rust
    //! use wasm_exporter_sdk::fetch::Request;
    //!
    //! # wasm_exporter_sdk::testing::respond_with("http://127.0.0.1:9200/_search", 200, "{}");
    //! let response = Request::post("http://127.0.0.1:9200/_search")
    //!     .header("Accept", "application/json")
    //!     .header("Content-Type", "application/json")
    //!     .body(r#"{"size": 0}"#)
    //!     .send()?;
    //! assert_eq!(response.status, 200);
    //! # Ok::<(), wasm_exporter_sdk::fetch::FetchError>(())
    //! ```
    //!
    //! Credentials are not the plugin's business: the operator puts them
    //! on the grant (`authorization`, `basic_auth`, `http_headers`,
    //! `tls_config` in `NAME.yml`) and the host adds them to each request
    //! that grant allows. The plugin never sees them.

    pub use crate::__bindings::wasm_exporter::plugin::fetch::{FetchError, Request, Response};

    /// Performs `request` through the host. In a native build (a unit
    /// test) there is no host: the answer comes from the stand-ins set with
    /// [`crate::testing::respond`].
    pub fn fetch(request: &Request) -> Result<Response, FetchError> {
        #[cfg(target_family = "wasm")]
        return crate::__bindings::wasm_exporter::plugin::fetch::fetch(request);
        #[cfg(not(target_family = "wasm"))]
        return crate::testing::fetch(request);
    }

    /// Whether the plugin's grants allow `target`, asked without reaching
    /// it: a request with a zero timeout, which the host checks against the
    /// grants and, its time being up, never sends. `Err` is the host's
    /// answer for a target outside the grants (`denied`) or one it cannot
    /// parse (`invalid-target`). Call it in `init` to refuse a
    /// configuration whose target the plugin could never reach.
    pub fn check_granted(target: &str) -> Result<(), FetchError> {
        let request = Request {
            timeout_ms: Some(0),
            ..Request::new(target)
        };
        match fetch(&request) {
            Err(e @ (FetchError::Denied(_) | FetchError::InvalidTarget(_))) => Err(e),
            _ => Ok(()),
        }
    }

    impl Request {
        /// A GET of `target` (`http(s)://...`), or a read of a socket
        /// (`unix:/path`, `tcp://host:port`), with TLS verification on and
        /// no timeout of its own.
        pub fn new(target: impl Into<String>) -> Self {
            Request {
                target: target.into(),
                method: None,
                headers: Vec::new(),
                body: None,
                tls_verify: true,
                timeout_ms: None,
                follow_redirects: false,
                read_until: None,
                max_bytes: None,
            }
        }

        /// A GET of `target`.
        pub fn get(target: impl Into<String>) -> Self {
            Request::new(target)
        }

        /// A POST to `target`; set its body with [`Request::body`].
        pub fn post(target: impl Into<String>) -> Self {
            Request::new(target).method("POST")
        }

        /// Sets the HTTP method (`PUT`, `HEAD`...).
        pub fn method(mut self, method: impl Into<String>) -> Self {
            self.method = Some(method.into());
            self
        }

        /// Adds a request header. `Authorization` set here is replaced by
        /// the grant's when the grant carries credentials.
        pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.headers.push((name.into(), value.into()));
            self
        }

        /// Sets the HTTP body, or the bytes written to a socket before
        /// reading.
        pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
            self.body = Some(body.into());
            self
        }

        /// Sets the line written to a socket target before reading
        /// (HAProxy's `"show stat\n"`): the body, as text.
        pub fn with_command(self, command: impl Into<String>) -> Self {
            self.body(command.into().into_bytes())
        }

        /// Sets whether to verify TLS certificates.
        pub fn with_tls_verify(mut self, verify: bool) -> Self {
            self.tls_verify = verify;
            self
        }

        /// Sets a timeout, capped at `u32::MAX` milliseconds.
        pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.timeout_ms = Some(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX));
            self
        }

        /// Follows redirects to targets the grants allow (a redirect
        /// elsewhere comes back as the 3xx response).
        pub fn follow_redirects(mut self) -> Self {
            self.follow_redirects = true;
            self
        }

        /// Sockets: stops reading once the answer ends with `terminator`
        /// (memcached's `"END\r\n"`) instead of when the peer closes.
        pub fn read_until(mut self, terminator: impl Into<Vec<u8>>) -> Self {
            self.read_until = Some(terminator.into());
            self
        }

        /// Reads at most `bytes` of the answer; the response says when it
        /// was cut short ([`Response::truncated`]).
        pub fn max_bytes(mut self, bytes: u64) -> Self {
            self.max_bytes = Some(bytes);
            self
        }

        /// Sends the request: [`fetch`].
        pub fn send(&self) -> Result<Response, FetchError> {
            fetch(self)
        }
    }

    impl Response {
        /// A response with `status` and `body` and no headers (for stand-ins
        /// in tests).
        pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
            Response {
                status,
                headers: Vec::new(),
                body: body.into(),
                truncated: false,
            }
        }

        /// Whether the status is 2xx.
        pub fn ok(&self) -> bool {
            (200..300).contains(&self.status)
        }

        /// The first value of header `name` (any case).
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        /// The body as text (invalid UTF-8 replaced).
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }

        /// The body parsed as JSON into `T`.
        pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::json::Error> {
            crate::json::from_slice(&self.body)
        }
    }
}

/// Log severity for [`log`].
pub use __bindings::wasm_exporter::plugin::host::Level;

/// Writes a record to the host's log, tagged with this plugin's name.
pub fn log(level: Level, message: &str) {
    #[cfg(target_family = "wasm")]
    __bindings::wasm_exporter::plugin::host::log(level, message);
    // Native builds (a plugin's unit tests, fuzzing) have no host: print
    // instead when WASM_EXPORTER_LOG is set.
    #[cfg(not(target_family = "wasm"))]
    if std::env::var_os("WASM_EXPORTER_LOG").is_some() {
        eprintln!("{level:?}: {message}");
    }
}

/// A collector plugin.
///
/// The host creates one instance per configured plugin with [`Collector::init`]
/// and then calls [`Collector::collect`] once per scrape. The instance lives
/// as long as it stays healthy; after a trap the host starts a new one.
pub trait Collector: Sized + 'static {
    /// The plugin's configuration: the `config:` section of its `NAME.yml`,
    /// deserialized from JSON. Use [`NoConfig`] for a plugin without one.
    type Config: serde::de::DeserializeOwned;

    /// Creates the collector from its configuration.
    fn init(config: Self::Config) -> Result<Self, InitError>;

    /// Returns fresh samples for one scrape. Build the families here, on
    /// every call: their label values index this collect's string table
    /// ([`strings`]), which starts empty each time.
    fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError>;
}

/// A collector that also answers `/probe`: the exporter passes the target
/// named by the scrape (`/probe?module=NAME&target=T`), already checked
/// against the plugin's `grants.fetch`, and the request's other query
/// parameters. Export it with [`export_prober!`] instead of
/// [`export_collector!`].
///
/// The host runs probes on instances of their own (each started with
/// [`Collector::init`] and the plugin's config), one call at a time per
/// instance; a probe must not assume the instance also serves `collect`.
pub trait Prober: Collector {
    /// Returns fresh samples for `target`. A target that is down is data
    /// (report it, for example as an `up` gauge of 0).
    fn probe(
        &mut self,
        target: &str,
        params: &[(String, String)],
    ) -> Result<Vec<MetricFamily>, CollectError>;
}

impl CollectError {
    /// A collect error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CollectError {
            message: message.into(),
        }
    }
}

/// The collector interface of `$ty` on `$name`: shared by
/// [`export_collector!`] and [`export_prober!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __collector_guest {
    ($name:ident, $ty:ty) => {
        impl $crate::__private::Guest for $name {
            fn metadata() -> $crate::PluginMetadata {
                $crate::PluginMetadata {
                    name: ::core::env!("CARGO_PKG_NAME").into(),
                    version: ::core::env!("CARGO_PKG_VERSION").into(),
                    description: ::core::env!("CARGO_PKG_DESCRIPTION").into(),
                }
            }
            fn init(
                config: ::std::string::String,
            ) -> ::core::result::Result<(), $crate::InitError> {
                $crate::__private::init::<$ty>(&config)
            }
            fn collect() -> ::core::result::Result<$crate::Collection, $crate::CollectError> {
                $crate::__private::collect::<$ty>()
            }
        }
    };
}

/// Exports `$ty`, which implements [`Collector`], as this component's
/// collector. Call it once, at the crate root of a `cdylib`.
///
/// The plugin's metadata comes from its `Cargo.toml`: package name, version
/// and description.
#[macro_export]
macro_rules! export_collector {
    ($ty:ty) => {
        const _: () = {
            struct __WasmExporterCollector;

            $crate::__collector_guest!(__WasmExporterCollector, $ty);

            // Component exports only exist on wasm; a native build of the
            // plugin crate (for its unit tests) links without them.
            #[cfg(target_family = "wasm")]
            $crate::__bindings::__export_plugin!(__WasmExporterCollector with_types_in $crate::__bindings);
        };
    };
}

/// Exports `$ty`, which implements [`Prober`], as this component's
/// collector and prober (the `probe-plugin` world). Call it once, at the
/// crate root of a `cdylib`, instead of [`export_collector!`].
#[macro_export]
macro_rules! export_prober {
    ($ty:ty) => {
        const _: () = {
            struct __WasmExporterProber;

            $crate::__collector_guest!(__WasmExporterProber, $ty);

            impl $crate::__private::ProberGuest for __WasmExporterProber {
                fn probe(
                    target: ::std::string::String,
                    params: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                ) -> ::core::result::Result<$crate::Collection, $crate::CollectError> {
                    $crate::__private::probe::<$ty>(&target, &params)
                }
            }

            #[cfg(target_family = "wasm")]
            $crate::__bindings::__export_plugin!(__WasmExporterProber with_types_in $crate::__bindings);
            #[cfg(target_family = "wasm")]
            $crate::__probe_bindings::__export_probe!(__WasmExporterProber with_types_in $crate::__probe_bindings);
        };
    };
}

/// Exports a function as this component's collector, for a plugin without
/// configuration or state:
/// `fn collect() -> Result<Vec<MetricFamily>, CollectError>`, called once per
/// scrape. Call it once, at the crate root of a `cdylib`.
#[macro_export]
macro_rules! export_collect_fn {
    ($collect:path) => {
        const _: () = {
            struct __WasmExporterFn;

            impl $crate::Collector for __WasmExporterFn {
                type Config = $crate::NoConfig;
                fn init(
                    _config: $crate::NoConfig,
                ) -> ::core::result::Result<Self, $crate::InitError> {
                    ::core::result::Result::Ok(__WasmExporterFn)
                }
                fn collect(
                    &mut self,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<$crate::MetricFamily>,
                    $crate::CollectError,
                > {
                    $collect()
                }
            }

            $crate::export_collector!(__WasmExporterFn);
        };
    };
}

#[doc(hidden)]
pub mod __private {
    use std::any::Any;
    use std::cell::RefCell;

    pub use crate::__bindings::exports::wasm_exporter::plugin::collector::Guest;
    pub use crate::__probe_bindings::exports::wasm_exporter::plugin::prober::Guest as ProberGuest;
    use crate::{CollectError, Collection, Collector, InitError, MetricFamily, Prober, strings};

    thread_local! {
        // The one collector of this component. Components are single-threaded
        // and the host never overlaps calls, so a RefCell is enough.
        static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    }

    /// A panic reported in the plugin's own words, on one line: where and
    /// what. std's default hook adds a note about `RUST_BACKTRACE`, which a
    /// plugin cannot set (the sandbox gives it no environment). Natively
    /// (unit tests) std's hook stays.
    fn own_panic_message() {
        #[cfg(target_family = "wasm")]
        {
            static HOOK: std::sync::Once = std::sync::Once::new();
            HOOK.call_once(|| {
                std::panic::set_hook(Box::new(|info| {
                    let message = info.payload_as_str().unwrap_or("(no message)");
                    match info.location() {
                        Some(at) => eprintln!("panicked at {at}: {message}"),
                        None => eprintln!("panicked: {message}"),
                    }
                }));
            });
        }
    }

    /// Parses the JSON config and stores a new collector.
    pub fn init<C: Collector>(config: &str) -> Result<(), InitError> {
        own_panic_message();
        let config = parse_config::<C>(config)?;
        let collector = C::init(config)?;
        INSTANCE.with(|slot| *slot.borrow_mut() = Some(Box::new(collector)));
        Ok(())
    }

    /// The config as `init` receives it, parsed; the error names the key.
    pub fn parse_config<C: Collector>(config: &str) -> Result<C::Config, InitError> {
        let config = if config.trim().is_empty() {
            "{}"
        } else {
            config
        };
        // The error names the key that failed (`config.timeout: ...`).
        let mut json = serde_json::Deserializer::from_str(config);
        serde_path_to_error::deserialize(&mut json).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." {
                String::new()
            } else {
                format!(".{path}")
            };
            InitError::InvalidConfig(format!("config{at}: {}", e.inner()))
        })
    }

    /// Runs the stored collector, with a fresh string table.
    pub fn collect<C: Collector>() -> Result<Collection, CollectError> {
        with_instance::<C>("collect", C::collect)
    }

    /// Runs the stored prober for `target`, with a fresh string table.
    pub fn probe<C: Prober>(
        target: &str,
        params: &[(String, String)],
    ) -> Result<Collection, CollectError> {
        with_instance::<C>("probe", |c| c.probe(target, params))
    }

    fn with_instance<C: Collector>(
        call: &str,
        run: impl FnOnce(&mut C) -> Result<Vec<MetricFamily>, CollectError>,
    ) -> Result<Collection, CollectError> {
        own_panic_message();
        strings::reset();
        let families = INSTANCE.with(|slot| {
            let mut slot = slot.borrow_mut();
            match slot.as_mut().and_then(|c| c.downcast_mut::<C>()) {
                Some(collector) => run(collector),
                None => Err(CollectError::new(format!(
                    "{call} called before a successful init"
                ))),
            }
        });
        let strings = strings::take();
        Ok(Collection {
            strings,
            families: families?,
        })
    }
}

#[cfg(test)]
mod json_tests {
    use crate::fetch::{Request, fetch};
    use crate::{CollectError, Collector, MetricFamily, NoConfig, json, testing};

    /// A collector of a JSON API, as a plugin author writes one with the
    /// SDK alone.
    struct Queue;

    #[derive(serde::Deserialize)]
    struct Stats {
        queues: Vec<QueueStats>,
    }

    #[derive(serde::Deserialize)]
    struct QueueStats {
        name: String,
        depth: u64,
    }

    const API: &str = "http://127.0.0.1:9000/api/stats";

    impl Collector for Queue {
        type Config = NoConfig;

        fn init(_: NoConfig) -> Result<Self, crate::InitError> {
            Ok(Queue)
        }

        fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError> {
            let body = fetch(&Request::new(API))
                .map_err(|e| CollectError::new(format!("{API}: {e:?}")))?
                .body;
            let stats: Stats =
                json::from_slice(&body).map_err(|e| CollectError::new(format!("{API}: {e}")))?;
            let mut depth =
                MetricFamily::gauge("queue_depth", "Messages waiting.").with_labels(["queue"]);
            for q in &stats.queues {
                depth.add_gauge([q.name.as_str()], q.depth as f64);
            }
            Ok(vec![depth])
        }
    }

    #[test]
    fn a_json_api_read_with_the_sdk_s_json() {
        testing::respond_with(
            API,
            200,
            r#"{"queues": [{"name": "mail", "depth": 3}, {"name": "jobs", "depth": 0}]}"#,
        );
        let families = testing::run::<Queue>("", 1).unwrap();
        assert_eq!(families[0].series_labels(1), ["jobs"]);
        testing::check(&families).unwrap();
        // A body that is not the JSON expected is the collect's error.
        testing::respond_with(API, 200, "<html>");
        let e = testing::run::<Queue>("", 1).unwrap_err();
        assert!(e.contains("expected value"), "{e}");
    }
}
