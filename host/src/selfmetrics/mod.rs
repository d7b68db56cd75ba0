//! The host's own metrics, in one room: what the host counts and last saw
//! ([`SelfMetrics`]), and the families built from it once per answer.
//! Plugins and probes report outcomes as data and own no counters; the
//! scrape and the probe record those outcomes here. The names belong to the
//! host: a plugin family that takes one is dropped as a clash
//! ([`host_owns`]).
//!
//! Rooms: [`status`] (each plugin's status and its state machine),
//! [`plugins`] (the `wasm_exporter_plugin_*` families), [`probes`] (`/probe`
//! counts), [`handler`] (promhttp's handler counts, escape clashes),
//! [`process`] (`process_*`).

pub mod handler;
pub mod plugins;
pub mod probes;
pub mod process;
pub mod status;

use crate::exposition::model::Family;
pub use handler::HandlerStats;
pub use probes::{ProbeCounters, ProbeStats};
pub use status::{Status, StatusStore};

// Prefixes of every name the host serves; no plugin may take a name that
// starts with one (the rule is shared with the SDK).
pub use crate::exposition::validate::rules::{HOST_PREFIXES, host_owns};

/// Build information for `wasm_exporter_build_info`.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// Crate version.
    pub version: &'static str,
    /// Git revision, or `unknown`.
    pub revision: &'static str,
    /// rustc version used.
    pub rustversion: &'static str,
    /// wasmtime version.
    pub wasmtime: &'static str,
}

impl BuildInfo {
    /// This binary's build information.
    pub fn current() -> Self {
        BuildInfo {
            version: env!("CARGO_PKG_VERSION"),
            revision: option_env!("WASM_EXPORTER_REVISION").unwrap_or("unknown"),
            rustversion: env!("WASM_EXPORTER_RUSTC"),
            wasmtime: crate::runtime::limits::WASMTIME_VERSION,
        }
    }
}

/// Everything the host counts about itself, shared by the scrape, the probe
/// and the HTTP layer.
pub struct SelfMetrics {
    /// Each plugin's status.
    pub statuses: StatusStore,
    /// Each module's `/probe` counts.
    pub probes: ProbeCounters,
    /// The metrics handler's counts.
    pub handler: HandlerStats,
    build: BuildInfo,
    /// False with `--web.disable-exporter-metrics`: no `process_*` and no
    /// `promhttp_*`.
    exporter_metrics: bool,
}

impl SelfMetrics {
    /// Nothing counted yet; `exporter_metrics` false leaves out the metrics
    /// about the exporter process (`--web.disable-exporter-metrics`).
    pub fn new(exporter_metrics: bool) -> Self {
        SelfMetrics {
            statuses: StatusStore::default(),
            probes: ProbeCounters::default(),
            handler: HandlerStats::default(),
            build: BuildInfo::current(),
            exporter_metrics,
        }
    }

    /// This binary's build information.
    pub fn build(&self) -> &BuildInfo {
        &self.build
    }

    /// The host's families for one `/metrics` answer: the status of each
    /// plugin in `collected` (by name, in name order), the `/probe` counts
    /// of each module in `probing`, the handler's counts, build and process
    /// information. Families without series are left out.
    pub fn families(&self, collected: &[&str], probing: &[&str]) -> Vec<Family> {
        let statuses: Vec<(&str, Status)> = collected
            .iter()
            .map(|name| (*name, self.statuses.get(name)))
            .collect();
        let mut out = plugins::families(&statuses, &self.build);
        out.extend(self.probes.families(probing));
        out.extend(self.handler.families(self.exporter_metrics));
        if self.exporter_metrics {
            out.extend(process::families());
        }
        out.retain(|f| !f.series.is_empty());
        out
    }

    /// Forgets what it knows of plugins and modules `keep` refuses
    /// (removed on reload).
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.statuses.retain(&keep);
        self.probes.retain(&keep);
    }
}
