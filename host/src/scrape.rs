//! One scrape, one way: collect every plugin concurrently (each collect
//! validated into an [`Outcome`]), merge, record each plugin's status once
//! into the host's own metrics, then add the host's families, built once
//! from those statuses.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::catalogue::{Outcome, PluginEntry, Plugins};
use crate::exposition::merge::{self, SourceReport};
use crate::exposition::model::Family;
use crate::runtime::PluginError;
use crate::selfmetrics::SelfMetrics;

/// Runs scrapes over the plugins in force.
pub struct Scraper {
    plugins: Arc<Plugins>,
    selfmetrics: Arc<SelfMetrics>,
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
    /// A scraper of `plugins`, recording into `selfmetrics`.
    pub fn new(plugins: Arc<Plugins>, selfmetrics: Arc<SelfMetrics>) -> Self {
        Scraper {
            plugins,
            selfmetrics,
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

    /// Starts every plugin (instance and `init`) ahead of the first scrape,
    /// all at once, and records each failure as that plugin's status: the
    /// landing page and `/metrics` show a failed `init` from the start.
    pub async fn start_plugins(&self) {
        let catalogue = self.plugins.current();
        let tasks: Vec<_> = catalogue
            .plugins
            .iter()
            .map(|plugin| {
                let plugin = Arc::clone(plugin);
                let runtime = self.plugins.runtime().clone();
                tokio::spawn(async move { plugin.start_early(&runtime).await })
            })
            .collect();
        let started = futures::future::join_all(tasks).await;
        for (plugin, outcome) in catalogue.plugins.iter().zip(started) {
            match outcome {
                Ok(Some(outcome)) => {
                    self.selfmetrics.statuses.record(
                        &plugin.name,
                        &outcome,
                        &SourceReport::default(),
                    );
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(plugin = &*plugin.name, "starting the plugin failed: {e}")
                }
            }
        }
    }

    /// Collects all plugins at once, each bounded by its own timeout and
    /// `budget` (the scrape's), and returns every family to serve, the
    /// host's own included. With `only` (`collect[]`), just the plugins
    /// named there, each of which must be loaded and enabled.
    pub async fn scrape(
        &self,
        budget: Option<Duration>,
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
                let deadline = plugin.limits.deadline(now, budget);
                tokio::spawn(async move { plugin.collect_coalesced(&runtime, deadline).await })
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
        for ((plugin, outcome), report) in chosen.iter().zip(&outcomes).zip(&merged.sources) {
            self.selfmetrics
                .statuses
                .record(&plugin.name, outcome, report);
        }
        let collected: Vec<&str> = chosen.iter().map(|p| &*p.name).collect();
        // Every module that answers /probe, enabled for /metrics or not;
        // with `collect[]`, those it names.
        let probing: Vec<&str> = catalogue
            .plugins
            .iter()
            .filter(|p| p.probes() && only.is_none_or(|names| names.contains(&*p.name)))
            .map(|p| &*p.name)
            .collect();
        let mut families = merged.families;
        // No plugin family has a host name (validation dropped those), so
        // the host's join the list without a merge.
        families.extend(self.selfmetrics.families(&collected, &probing));
        Ok(families)
    }
}
