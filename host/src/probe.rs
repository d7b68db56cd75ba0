//! One `/probe`, start to end, beside [`crate::scrape`]: the module named
//! by the request, its grants' verdict on the target, the deadline, one
//! coalesced probe call, what it produced with the host's status of that
//! probe, and the probe counted. The answer is typed; the HTTP layer only
//! parses the query and maps the answer to a status code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::catalogue::probe::call;
use crate::catalogue::{PluginEntry, Plugins, ProbeRequest};
use crate::exposition::merge;
use crate::exposition::model::Family;
use crate::reason::ProbeReason;
use crate::selfmetrics::{SelfMetrics, probes::answer_families};

/// Why a probe was not made; every case is the request's or the module's,
/// never a failure of the probe itself (that is `probe_success 0`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeRefusal {
    /// No module of that name.
    #[error("unknown module {module:?}; the modules that answer /probe: {}", list(.probing))]
    UnknownModule {
        /// The module asked for.
        module: String,
        /// The modules that answer `/probe`.
        probing: Vec<String>,
    },
    /// The module's files failed to load.
    #[error("module {module:?} is not loaded: {error}")]
    NotLoaded {
        /// The module.
        module: String,
        /// Why.
        error: String,
    },
    /// The module's plugin does not export the prober interface.
    #[error(
        "module {module:?} does not answer /probe: its plugin does not export {}",
        crate::runtime::contract::PROBER
    )]
    DoesNotProbe {
        /// The module.
        module: String,
    },
    /// The target is outside the module's `grants.fetch`; nothing was
    /// contacted.
    #[error("target {target:?} is outside module {module:?}'s grants.fetch; nothing was contacted")]
    TargetDenied {
        /// The module.
        module: String,
        /// The target.
        target: String,
    },
    /// The target is not one the grants can judge.
    #[error("target {0}")]
    InvalidTarget(String),
}

fn list(modules: &[String]) -> String {
    if modules.is_empty() {
        "none".to_owned()
    } else {
        modules.join(", ")
    }
}

/// Runs probes over the plugins in force, counting each into the host's
/// own metrics.
pub struct Prober {
    plugins: Arc<Plugins>,
    selfmetrics: Arc<SelfMetrics>,
}

impl Prober {
    /// A prober of `plugins`, counting into `selfmetrics`.
    pub fn new(plugins: Arc<Plugins>, selfmetrics: Arc<SelfMetrics>) -> Self {
        Prober {
            plugins,
            selfmetrics,
        }
    }

    /// Probes `request.target` with `module`, within `budget` (the scrape
    /// timeout header's, if any) and the module's own timeout. The families
    /// to serve: what the probe produced, and `wasm_exporter_probe_success`
    /// and `_duration_seconds`.
    pub async fn probe(
        &self,
        module: &str,
        request: ProbeRequest,
        budget: Option<Duration>,
    ) -> Result<Vec<Family>, ProbeRefusal> {
        let catalogue = self.plugins.current();
        let entry = find(&catalogue.plugins, module)?;
        let started = Instant::now();
        let count = |failure| {
            self.selfmetrics
                .probes
                .record(&entry.name, started.elapsed(), Some(failure))
        };
        match entry.fetch.grants.permits(&request.target) {
            Ok(true) => {}
            Ok(false) => {
                count(ProbeReason::TargetDenied);
                tracing::warn!(module = %entry.name, target = %request.target, "probe refused: target outside grants.fetch");
                return Err(ProbeRefusal::TargetDenied {
                    module: module.to_owned(),
                    target: request.target,
                });
            }
            Err(e) => {
                count(ProbeReason::InvalidTarget);
                return Err(ProbeRefusal::InvalidTarget(e.to_string()));
            }
        }
        let deadline = entry.limits.deadline(started, budget);
        let outcome = call(entry, self.plugins.runtime(), request, deadline).await;
        let duration = started.elapsed();
        let (families, failure) = match &outcome.result {
            Ok(families) => (families.clone(), None),
            Err(e) => {
                tracing::debug!(module = %entry.name, reason = %e.reason(), "probe failed: {e}");
                (Vec::new(), Some(e.reason()))
            }
        };
        if !outcome.dropped.is_empty() {
            let all: Vec<String> = outcome.dropped.iter().map(ToString::to_string).collect();
            tracing::warn!(module = %entry.name, "probe dropped {} families: {}", all.len(), all.join("; "));
        }
        self.selfmetrics
            .probes
            .record(&entry.name, duration, failure);
        let mut families = merge::merge(vec![families]).families;
        families.extend(answer_families(failure.is_none(), duration.as_secs_f64()));
        Ok(families)
    }
}

/// The module named `module`, if it can probe.
fn find<'a>(
    plugins: &'a [Arc<PluginEntry>],
    module: &str,
) -> Result<&'a Arc<PluginEntry>, ProbeRefusal> {
    let Some(entry) = plugins.iter().find(|p| *p.name == *module) else {
        return Err(ProbeRefusal::UnknownModule {
            module: module.to_owned(),
            probing: plugins
                .iter()
                .filter(|p| p.probes())
                .map(|p| p.name.to_string())
                .collect(),
        });
    };
    if let Some(error) = entry.load_error() {
        return Err(ProbeRefusal::NotLoaded {
            module: module.to_owned(),
            error,
        });
    }
    if !entry.probes() {
        return Err(ProbeRefusal::DoesNotProbe {
            module: module.to_owned(),
        });
    }
    Ok(entry)
}
