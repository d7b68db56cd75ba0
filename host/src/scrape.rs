//! One scrape, one way: collect every plugin concurrently (each collect
//! validated into an [`Outcome`]), merge, record each plugin's status once,
//! then add the host's own metrics, built once from those statuses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::BTreeSet;

use crate::catalogue::{Outcome, PluginEntry, Plugins};
use crate::exposition::merge;
use crate::exposition::model::Family;
use crate::runtime::PluginError;
use crate::selfmetrics::{self, BuildInfo};

/// Runs scrapes over the plugins in force.
pub struct Scraper {
    plugins: Arc<Plugins>,
    build: BuildInfo,
    exporter_metrics: bool,
    disabled: BTreeSet<String>,
}

/// Why a scrape cannot be served as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScrapeError {
    /// `collect[]` names a plugin that is not loaded, or not enabled.
    #[error("collect[]: no enabled plugin named {0:?}")]
    UnknownPlugin(String),
}

impl Scraper {
    /// A scraper of `plugins`; `exporter_metrics` false leaves out the
    /// metrics about the exporter process (`--web.disable-exporter-metrics`).
    pub fn new(plugins: Arc<Plugins>, exporter_metrics: bool) -> Self {
        Scraper {
            plugins,
            build: BuildInfo::current(),
            exporter_metrics,
            disabled: BTreeSet::new(),
        }
    }

    /// Plugins (instance names) that stay loaded but are never collected
    /// (`--plugins.disable`).
    pub fn with_disabled(mut self, disabled: impl IntoIterator<Item = String>) -> Self {
        self.disabled = disabled.into_iter().collect();
        self
    }

    /// Whether `plugin` is collected: its `enabled:` and no
    /// `--plugins.disable`.
    pub fn enabled(&self, plugin: &PluginEntry) -> bool {
        plugin.enabled && !self.disabled.contains(&*plugin.name)
    }

    /// The plugins scraped.
    pub fn plugins(&self) -> &Arc<Plugins> {
        &self.plugins
    }

    /// Collects all plugins at once, each bounded by the smaller of its own
    /// timeout and `budget` (the scrape's), and returns every family to
    /// serve, `handler` (the HTTP layer's own) included, sorted by name.
    /// With `only` (`collect[]`), just the plugins named there, each of
    /// which must be loaded and enabled.
    pub async fn scrape(
        &self,
        budget: Option<Duration>,
        handler: Vec<Family>,
        only: Option<&BTreeSet<String>>,
    ) -> Result<Vec<Family>, ScrapeError> {
        let now = Instant::now();
        let catalogue = self.plugins.current();
        let chosen: Vec<&Arc<PluginEntry>> = catalogue
            .plugins
            .iter()
            .filter(|p| self.enabled(p) && only.is_none_or(|names| names.contains(&*p.name)))
            .collect();
        if let Some(missing) = only.and_then(|names| {
            names
                .iter()
                .find(|n| !chosen.iter().any(|p| &*p.name == *n))
        }) {
            return Err(ScrapeError::UnknownPlugin(missing.clone()));
        }
        let tasks: Vec<_> = chosen
            .iter()
            .map(|plugin| {
                let plugin = Arc::clone(plugin);
                let runtime = self.plugins.runtime().clone();
                let timeout =
                    budget.map_or(plugin.limits.timeout, |b| b.min(plugin.limits.timeout));
                tokio::spawn(async move {
                    plugin
                        .collect_coalesced(&runtime, now + timeout, selfmetrics::host_owns)
                        .await
                })
            })
            .collect();
        let mut outcomes: Vec<Arc<Outcome>> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(|task| {
                task.unwrap_or_else(|e| {
                    Arc::new(Outcome::failed(
                        0,
                        PluginError::Trap(format!("host task failed: {e}")),
                    ))
                })
            })
            .collect();

        let sources = outcomes.iter_mut().map(Outcome::take_families).collect();
        let merged = merge::merge(sources);
        let mut statuses = Vec::with_capacity(outcomes.len());
        for ((plugin, outcome), report) in chosen.iter().zip(&outcomes).zip(&merged.sources) {
            plugin.record(outcome, report);
            statuses.push((&*plugin.name, plugin.status()));
        }

        // Every module that answers /probe, enabled for /metrics or not.
        let probes: Vec<(&str, _)> = catalogue
            .plugins
            .iter()
            .filter(|p| p.probes())
            .map(|p| (&*p.name, p.probe_stats()))
            .collect();
        let mut families = merged.families;
        // No plugin family has a host name (validation dropped those), so
        // the host's join the list without a merge.
        families.extend(
            selfmetrics::families(&statuses, &self.build, self.exporter_metrics)
                .into_iter()
                .chain(selfmetrics::probe_families(&probes))
                .chain(handler)
                .filter(|f| !f.series.is_empty()),
        );
        families.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(families)
    }
}
