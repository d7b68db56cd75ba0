//! One scrape: collect every plugin concurrently, validate, merge with the
//! host's own metrics, and record each plugin's status.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::catalogue::Catalogue;
use crate::exposition::merge;
use crate::exposition::model::Family;
use crate::runtime::Runtime;
use crate::selfmetrics::{self, BuildInfo};

/// Gathers the merged exposition on demand.
pub struct Gatherer {
    runtime: Runtime,
    catalogue: std::sync::RwLock<Arc<Catalogue>>,
    load_errors: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    build: BuildInfo,
}

impl Gatherer {
    /// A gatherer over `catalogue`.
    pub fn new(runtime: Runtime, catalogue: Arc<Catalogue>) -> Self {
        Gatherer {
            runtime,
            catalogue: std::sync::RwLock::new(catalogue),
            load_errors: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            build: BuildInfo::current(),
        }
    }

    /// The catalogue in force. A scrape holds on to the one it started
    /// with, so it never sees half of a reload.
    pub fn catalogue(&self) -> Arc<Catalogue> {
        Arc::clone(&self.catalogue.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The runtime plugins run in.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Puts a reloaded catalogue in force and counts the versions that
    /// failed to load.
    pub fn install(&self, catalogue: Catalogue, failed: &[(String, String)]) {
        *self.catalogue.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(catalogue);
        let mut errors = self.load_errors.lock().unwrap_or_else(|p| p.into_inner());
        for (plugin, _) in failed {
            *errors.entry(plugin.clone()).or_default() += 1;
        }
    }

    /// Failed reloads per plugin.
    pub fn load_errors(&self) -> std::collections::BTreeMap<String, u64> {
        self.load_errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Collects all plugins at once, each bounded by the smaller of its own
    /// timeout and `budget` (the scrape's), and returns the merged families
    /// sorted by name.
    pub async fn gather(&self, budget: Option<Duration>) -> Vec<Family> {
        let now = Instant::now();
        let catalogue = self.catalogue();
        let load_errors = self.load_errors();
        let tasks: Vec<_> = catalogue
            .plugins
            .iter()
            .map(|plugin| {
                let plugin = Arc::clone(plugin);
                let runtime = self.runtime.clone();
                let timeout =
                    budget.map_or(plugin.limits.timeout, |b| b.min(plugin.limits.timeout));
                tokio::spawn(async move { plugin.collect_coalesced(&runtime, now + timeout).await })
            })
            .collect();
        let mut collected: Vec<(u64, Vec<Family>)> = Vec::with_capacity(tasks.len());
        for task in futures::future::join_all(tasks).await {
            let shared = match task {
                Ok(shared) => shared,
                Err(e) => {
                    tracing::error!("collect task failed: {e}");
                    collected.push((0, Vec::new()));
                    continue;
                }
            };
            // Sole owner: take the families; shared with another scrape: copy.
            let c = Arc::try_unwrap(shared).unwrap_or_else(|arc| (*arc).clone());
            collected.push((c.id, c.result.unwrap_or_default()));
        }

        // Source 0 is the host, so no plugin can take the host's names; its
        // values are filled in after the plugins' statuses are recorded.
        let mut sources = Vec::with_capacity(collected.len() + 1);
        sources.push(selfmetrics::families(&catalogue, &load_errors, &self.build));
        let mut series_by_family: Vec<HashMap<String, usize>> = Vec::with_capacity(collected.len());
        let mut ids = Vec::with_capacity(collected.len());
        for (id, families) in collected {
            series_by_family.push(
                families
                    .iter()
                    .map(|f| (f.name.clone(), f.series.len()))
                    .collect(),
            );
            ids.push(id);
            sources.push(families);
        }
        let (mut merged, clashes) = merge::merge(sources);

        for (i, plugin) in catalogue.plugins.iter().enumerate() {
            let mine: Vec<&merge::Clash> = clashes.iter().filter(|cl| cl.source == i + 1).collect();
            let clashed: usize = mine
                .iter()
                .map(|cl| series_by_family[i].get(&cl.family).copied().unwrap_or(0))
                .sum();
            let total: usize = series_by_family[i].values().sum();
            let problems: Vec<String> = mine
                .iter()
                .map(|cl| format!("family {}: {}", cl.family, cl.reason))
                .collect();
            plugin.record_merge(ids[i], total - clashed, &problems);
        }

        for family in selfmetrics::families(&catalogue, &load_errors, &self.build) {
            match merged.binary_search_by(|f| f.name.as_str().cmp(&family.name)) {
                Ok(i) => merged[i] = family,
                Err(i) if !family.series.is_empty() => merged.insert(i, family),
                Err(_) => {}
            }
        }
        merged
    }
}
