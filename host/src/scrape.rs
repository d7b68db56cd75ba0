//! One scrape, one way: collect every plugin concurrently (each collect
//! validated into an [`Outcome`]), merge, record each plugin's status once,
//! then add the host's own metrics, built once from those statuses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::catalogue::{Outcome, Plugins};
use crate::exposition::merge;
use crate::exposition::model::Family;
use crate::runtime::PluginError;
use crate::selfmetrics::{self, BuildInfo};

/// Runs scrapes over the plugins in force.
pub struct Scraper {
    plugins: Arc<Plugins>,
    build: BuildInfo,
    exporter_metrics: bool,
}

impl Scraper {
    /// A scraper of `plugins`; `exporter_metrics` false leaves out the
    /// metrics about the exporter process (`--web.disable-exporter-metrics`).
    pub fn new(plugins: Arc<Plugins>, exporter_metrics: bool) -> Self {
        Scraper {
            plugins,
            build: BuildInfo::current(),
            exporter_metrics,
        }
    }

    /// The plugins scraped.
    pub fn plugins(&self) -> &Arc<Plugins> {
        &self.plugins
    }

    /// Collects all plugins at once, each bounded by the smaller of its own
    /// timeout and `budget` (the scrape's), and returns every family to
    /// serve, `handler` (the HTTP layer's own) included, sorted by name.
    pub async fn scrape(&self, budget: Option<Duration>, handler: Vec<Family>) -> Vec<Family> {
        let now = Instant::now();
        let catalogue = self.plugins.current();
        let tasks: Vec<_> = catalogue
            .plugins
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
        for ((plugin, outcome), report) in
            catalogue.plugins.iter().zip(&outcomes).zip(&merged.sources)
        {
            plugin.record(outcome, report);
            statuses.push((&*plugin.name, plugin.status()));
        }

        let mut families = merged.families;
        // No plugin family has a host name (validation dropped those), so
        // the host's join the list without a merge.
        families.extend(
            selfmetrics::families(&statuses, &self.build, self.exporter_metrics)
                .into_iter()
                .chain(handler)
                .filter(|f| !f.series.is_empty()),
        );
        families.sort_by(|a, b| a.name.cmp(&b.name));
        families
    }
}
