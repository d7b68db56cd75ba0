//! One scrape, one way: collect every plugin concurrently (each collect
//! validated into an [`Outcome`]), merge, record each plugin's status once
//! into the host's own metrics, then build the host's families from those
//! statuses.
//!
//! Scrapes that arrive while a plugin's collect is in flight share its
//! outcome; scrapes that share every outcome share one [`Collected`]: the
//! merge, and the plugins' part of the body rendered once per negotiated
//! form. Only the host's families are each scrape's own.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::catalogue::{Outcome, PluginEntry, Plugins};
use crate::exposition::merge::{self, SourceReport};
use crate::exposition::model::Family;
use crate::exposition::negotiate::Negotiated;
use crate::exposition::render::Part;
use crate::runtime::PluginError;
use crate::selfmetrics::SelfMetrics;

/// Runs scrapes over the plugins in force.
pub struct Scraper {
    plugins: Arc<Plugins>,
    selfmetrics: Arc<SelfMetrics>,
    disabled: BTreeSet<String>,
    /// The plugins' side of the scrapes being served, while any is.
    serving: Serving,
}

/// The plugins' side of the scrapes being served, while any is: held
/// weakly, so that it is gone with the last scrape's answer.
#[derive(Default)]
struct Serving(Mutex<Weak<Collected>>);

impl Serving {
    /// The plugins' side of the scrapes served by `outcomes`: the one
    /// being served when it is theirs, else a new one (merged here, under
    /// the lock, so that scrapes of the same collects merge once).
    fn get(&self, outcomes: Vec<Arc<Outcome>>) -> Arc<Collected> {
        let mut last = lock(&self.0);
        if let Some(collected) = last.upgrade().filter(|c| c.serves(&outcomes)) {
            return collected;
        }
        let collected = Arc::new(Collected::new(outcomes));
        *last = Arc::downgrade(&collected);
        collected
    }
}

/// What one scrape serves: the plugins' side, shared with the scrapes the
/// same collects served, and the host's own families.
pub struct Scrape {
    /// The plugins' side.
    pub collected: Arc<Collected>,
    /// The host's own families, built for this scrape.
    pub host: Vec<Family>,
}

/// The plugins' side of the scrapes one set of collects served: the
/// outcomes, merged once, and rendered at most once per negotiated form.
pub struct Collected {
    outcomes: Vec<Arc<Outcome>>,
    /// The plugins' families, merged.
    families: Arc<Vec<Family>>,
    /// What the merge kept of each plugin, in the order of `outcomes`.
    reports: Vec<SourceReport>,
    parts: Mutex<Vec<(Negotiated, Arc<PartCell>)>>,
}

/// A part, rendered by the first scrape that asks for its form.
type PartCell = tokio::sync::OnceCell<Arc<Part>>;

impl Collected {
    fn new(mut outcomes: Vec<Arc<Outcome>>) -> Self {
        // Moved out of each outcome no other scrape holds (a scrape on its
        // own), copied otherwise (the series stay shared).
        let sources = outcomes.iter_mut().map(Outcome::take_families).collect();
        let merged = merge::merge(sources);
        Collected {
            families: Arc::new(merged.families),
            reports: merged.sources,
            outcomes,
            parts: Mutex::default(),
        }
    }

    /// Whether these are the collects of `outcomes`.
    fn serves(&self, outcomes: &[Arc<Outcome>]) -> bool {
        self.outcomes.len() == outcomes.len()
            && self
                .outcomes
                .iter()
                .zip(outcomes)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }

    /// The merged families rendered as `negotiated` asks, the first
    /// scrape to ask rendering them for all (`size_hint` sizes the buffer;
    /// 0: estimated from the families).
    pub async fn part(&self, negotiated: Negotiated, size_hint: usize) -> Arc<Part> {
        let cell = {
            let mut parts = lock(&self.parts);
            match parts.iter().find(|(n, _)| *n == negotiated) {
                Some((_, cell)) => Arc::clone(cell),
                None => {
                    let cell = Arc::new(tokio::sync::OnceCell::new());
                    parts.push((negotiated, Arc::clone(&cell)));
                    cell
                }
            }
        };
        let part = cell.get_or_init(|| async {
            Arc::new(Part::render(&self.families, negotiated, size_hint))
        });
        Arc::clone(part.await)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
            serving: Serving::default(),
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
    /// host's own apart. With `only` (`collect[]`), just the plugins
    /// named there, each of which must be loaded and enabled.
    pub async fn scrape(
        &self,
        budget: Option<Duration>,
        only: Option<&BTreeSet<String>>,
    ) -> Result<Scrape, ScrapeError> {
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
        let outcomes: Vec<Arc<Outcome>> = futures::future::join_all(tasks)
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

        let collected = self.serving.get(outcomes);
        let reports = &collected.reports;
        for ((plugin, outcome), report) in chosen.iter().zip(&collected.outcomes).zip(reports) {
            self.selfmetrics
                .statuses
                .record(&plugin.name, outcome, report);
        }
        let names: Vec<&str> = chosen.iter().map(|p| &*p.name).collect();
        // Every module that answers /probe, enabled for /metrics or not;
        // with `collect[]`, those it names.
        let probing: Vec<&str> = catalogue
            .plugins
            .iter()
            .filter(|p| p.probes() && only.is_none_or(|names| names.contains(&*p.name)))
            .map(|p| &*p.name)
            .collect();
        // No plugin family has a host name (validation dropped those), so
        // the host's join the body without a merge.
        let host = self.selfmetrics.families(&names, &probing);
        Ok(Scrape { collected, host })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::escape::Escaping;
    use crate::exposition::model::{Kind, Value};
    use crate::exposition::negotiate::Format;

    fn outcome(id: u64, name: &str) -> Arc<Outcome> {
        let mut family = Family::new(Kind::Gauge, name, "h");
        family.push(vec![], Value::Gauge(1.0));
        let mut outcome = Outcome::failed(id, PluginError::Trap(String::new()));
        outcome.result = Ok(vec![family]);
        Arc::new(outcome)
    }

    #[tokio::test]
    async fn scrapes_of_the_same_collects_share_one_merge_and_one_body_per_form() {
        let serving = Serving::default();
        let (a, b) = (outcome(1, "a"), outcome(1, "b"));
        let first = serving.get(vec![Arc::clone(&a), Arc::clone(&b)]);
        let second = serving.get(vec![Arc::clone(&a), Arc::clone(&b)]);
        assert!(Arc::ptr_eq(&first, &second));
        let text = Negotiated {
            format: Format::Text,
            escaping: Escaping::Underscores,
        };
        let protobuf = Negotiated {
            format: Format::Protobuf,
            ..text
        };
        let part = first.part(text, 0).await;
        assert!(Arc::ptr_eq(&part, &second.part(text, 0).await));
        assert!(!Arc::ptr_eq(&part, &second.part(protobuf, 0).await));
        let body = part.assemble(Vec::new()).chunks.concat();
        assert_eq!(
            body,
            b"# HELP a h\n# TYPE a gauge\na 1\n# HELP b h\n# TYPE b gauge\nb 1\n"
        );

        // Other collects (a new outcome of b), or a subset (`collect[]`):
        // their own.
        let newer = serving.get(vec![Arc::clone(&a), outcome(2, "b")]);
        assert!(!Arc::ptr_eq(&first, &newer));
        assert!(!Arc::ptr_eq(&newer, &serving.get(vec![Arc::clone(&a)])));

        // Once its scrapes are answered, nothing of it is kept.
        let weak = Arc::downgrade(&first);
        drop((first, second, newer));
        assert!(weak.upgrade().is_none());
        assert!(!Arc::ptr_eq(
            &part,
            &serving.get(vec![a, b]).part(text, 0).await
        ));
    }
}
