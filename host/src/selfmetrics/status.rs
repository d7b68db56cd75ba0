//! What the host last saw of each plugin ([`StatusStore`]), and the one
//! place that changes it: [`Status::record`], called once per scrape with
//! the plugin's outcome and what the merge kept of it. Error counters move
//! once per collect however many scrapes share it, and a log line is
//! written once per change of state, never once per scrape.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::catalogue::Outcome;
use crate::exposition::merge::SourceReport;
use crate::reason::Reason;
use crate::runtime::{Metadata, PluginError};

/// The status of one plugin, as the self-metrics and the landing page show
/// it. The default is a plugin not collected yet, every counter at 0.
#[derive(Debug, Clone)]
pub struct Status {
    /// Metadata the plugin reported, once instantiated.
    pub metadata: Option<Metadata>,
    /// Whether the last collect produced data.
    pub up: bool,
    /// Whether the plugin was collected at all yet.
    pub collected: bool,
    /// Duration of the last collect, instantiation included.
    pub last_duration: Duration,
    /// Series served from the last collect.
    pub series: usize,
    /// Families dropped from the last collect (invalid or clashing).
    pub dropped_families: usize,
    /// The last error, or the first family dropped from the last collect.
    pub last_error: Option<String>,
    /// Failures and partial failures, by reason.
    pub errors: BTreeMap<Reason, u64>,
    /// New versions of the plugin that failed to load on reload.
    pub failed_reloads: u64,
    /// Why the last of them failed.
    pub reload_error: Option<String>,
    /// The last fetch failure since the last success, while the plugin may
    /// well be up (reporting its target down as data).
    pub warning: Option<String>,
    /// Linear memory of its instance now, in bytes.
    pub memory: u64,
    /// The most linear memory any of its instances had.
    pub memory_peak: u64,
    /// CPU time spent in its calls.
    pub cpu: std::time::Duration,
    /// The last collect counted into `errors`.
    counted: u64,
    /// The problems last logged, so that the same ones are not logged again.
    logged: Option<String>,
    /// Whether the last failure started a backoff.
    backing_off: bool,
}

/// The status of every plugin, by instance name. Plugins own no counters:
/// the scrape records their outcomes here, and the self-metrics and the
/// landing page read them from here.
#[derive(Default)]
pub struct StatusStore {
    plugins: Mutex<HashMap<String, Status>>,
}

impl StatusStore {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Status>> {
        self.plugins.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one scrape of `plugin` (see [`Status::record`]).
    pub fn record(&self, plugin: &str, outcome: &Outcome, merged: &SourceReport) {
        let mut plugins = self.lock();
        match plugins.get_mut(plugin) {
            Some(status) => status.record(plugin, outcome, merged),
            None => {
                let mut status = Status::new();
                status.record(plugin, outcome, merged);
                plugins.insert(plugin.to_owned(), status);
            }
        }
    }

    /// Counts a new version of `plugin` that failed to load, with `error`,
    /// while the old one kept serving (or, for a new file, was served
    /// down).
    pub fn count_failed_reload(&self, plugin: &str, error: &str) {
        let mut plugins = self.lock();
        let status = plugins.entry(plugin.to_owned()).or_default();
        status.failed_reloads += 1;
        status.reload_error = Some(error.to_owned());
    }

    /// A copy of `plugin`'s status; a plugin never recorded is not
    /// collected yet, every counter at 0.
    pub fn get(&self, plugin: &str) -> Status {
        self.lock().get(plugin).cloned().unwrap_or_else(Status::new)
    }

    /// Forgets the plugins `keep` refuses (removed on reload), so that a
    /// plugin added again under the same name starts afresh.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.lock().retain(|name, _| keep(name));
    }
}

/// Problems on one log line.
fn join<T: std::fmt::Display>(problems: &[T]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Default for Status {
    fn default() -> Self {
        Status {
            metadata: None,
            up: false,
            collected: false,
            last_duration: Duration::ZERO,
            series: 0,
            dropped_families: 0,
            last_error: None,
            errors: Reason::ALL.iter().map(|r| (*r, 0)).collect(),
            failed_reloads: 0,
            reload_error: None,
            warning: None,
            memory: 0,
            memory_peak: 0,
            cpu: Duration::ZERO,
            counted: 0,
            logged: None,
            backing_off: false,
        }
    }
}

impl Status {
    /// A plugin not collected yet: every counter at 0.
    pub fn new() -> Self {
        Status::default()
    }

    /// Records one scrape of the plugin: its collect's `outcome` and what
    /// the merge kept of it (`merged`).
    pub fn record(&mut self, plugin: &str, outcome: &Outcome, merged: &SourceReport) {
        let new_collect = self.counted != outcome.id;
        self.counted = outcome.id;
        let was_up = self.up || !self.collected;
        self.collected = true;
        self.last_duration = outcome.duration;
        if let Some(metadata) = &outcome.metadata {
            self.metadata = Some(metadata.clone());
        }
        if let Some(usage) = outcome.usage {
            self.memory = usage.memory;
            self.memory_peak = self.memory_peak.max(usage.memory);
            if new_collect {
                self.cpu += usage.cpu;
            }
        }
        self.warning = outcome.fetch.last_failure.clone();
        self.errors
            .insert(Reason::FetchDenied, outcome.fetch.denied);
        self.errors.insert(Reason::Fetch, outcome.fetch.failed);
        match &outcome.result {
            Ok(_) => self.record_data(plugin, outcome, merged, new_collect, was_up),
            Err(e) => self.record_failure(plugin, outcome, e, new_collect, was_up),
        }
    }

    fn count(&mut self, reason: Reason) {
        *self.errors.entry(reason).or_default() += 1;
    }

    fn record_failure(
        &mut self,
        plugin: &str,
        outcome: &Outcome,
        e: &PluginError,
        new_collect: bool,
        was_up: bool,
    ) {
        self.up = false;
        self.series = 0;
        self.dropped_families = 0;
        // A backoff is no attempt: nothing to count or log.
        let Some(reason) = e.reason() else { return };
        let message = e.to_string();
        if new_collect {
            self.count(reason);
        }
        let retry = outcome
            .next_attempt
            .map(|wait| format!(" (next attempt in {wait:.0?})"))
            .unwrap_or_default();
        let started_backoff = outcome.next_attempt.is_some() && !self.backing_off;
        if reason == Reason::Load {
            // The loader logged it when the file failed ("plugin not
            // loaded"); it cannot change before a reload.
        } else if was_up {
            tracing::error!(plugin, reason = %reason, "plugin down: {message}{retry}");
        } else if new_collect && (self.last_error.as_deref() != Some(&message) || started_backoff) {
            tracing::error!(plugin, reason = %reason, "plugin still down: {message}{retry}");
        }
        self.backing_off = outcome.next_attempt.is_some();
        self.logged = None;
        self.last_error = Some(message);
    }

    fn record_data(
        &mut self,
        plugin: &str,
        outcome: &Outcome,
        merged: &SourceReport,
        new_collect: bool,
        was_up: bool,
    ) {
        self.backing_off = false;
        let mut problems: Vec<(Reason, String)> = outcome
            .dropped
            .iter()
            .map(|d| (d.reason(), d.to_string()))
            .collect();
        problems.extend(
            merged
                .clashes
                .iter()
                .map(|c| (Reason::NameClash, c.to_string())),
        );
        if new_collect {
            for reason in [Reason::InvalidOutput, Reason::NameClash] {
                if problems.iter().any(|(r, _)| *r == reason) {
                    self.count(reason);
                }
            }
        }
        self.series = merged.series;
        self.dropped_families = problems.len();
        self.last_error = problems.first().map(|(_, p)| p.clone());
        let texts: Vec<&str> = problems.iter().map(|(_, p)| p.as_str()).collect();
        let summary = (!problems.is_empty()).then(|| join(&texts));
        let changed = summary != self.logged;
        // Everything it returned was dropped: nothing to serve.
        let nothing_served = merged.series == 0 && !problems.is_empty();
        let reason = if problems.iter().all(|(r, _)| *r == Reason::NameClash) {
            Reason::NameClash
        } else {
            Reason::InvalidOutput
        };
        if nothing_served {
            self.up = false;
            if was_up || changed {
                let what = match reason {
                    Reason::NameClash => "clashes with another source's or the host's",
                    _ => "is invalid or clashes",
                };
                let all = summary.as_deref().unwrap_or_default();
                tracing::error!(
                    plugin,
                    reason = %reason,
                    "plugin down: every family it returned {what}: {all}"
                );
            }
        } else {
            self.up = true;
            if !was_up {
                tracing::info!(plugin, "plugin up");
            }
            if changed && let Some(all) = &summary {
                tracing::warn!(
                    plugin,
                    reason = %problems[0].0,
                    "dropped {} families: {all}",
                    problems.len()
                );
            }
        }
        self.logged = summary;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::exposition::merge::Clash;
    use crate::exposition::validate::{Invalid, Rule};
    use crate::runtime::Usage;

    fn outcome(
        id: u64,
        result: Result<Vec<crate::exposition::model::Family>, PluginError>,
    ) -> Outcome {
        Outcome {
            result,
            ..Outcome::failed(id, PluginError::Collect(String::new()))
        }
    }

    fn served(series: usize) -> SourceReport {
        SourceReport {
            series,
            clashes: Vec::new(),
        }
    }

    fn count(status: &Status, reason: Reason) -> u64 {
        status.errors[&reason]
    }

    #[test]
    fn a_plugin_never_recorded_is_not_collected_and_counts_nothing() {
        let store = StatusStore::default();
        let status = store.get("a");
        assert!(!status.collected && !status.up);
        assert_eq!(status.errors.len(), Reason::ALL.len());
        assert!(status.errors.values().all(|n| *n == 0));
    }

    #[test]
    fn a_failure_counts_once_per_collect_however_many_scrapes_share_it() {
        let store = StatusStore::default();
        let failed = outcome(1, Err(PluginError::Timeout(Duration::from_secs(1))));
        store.record("a", &failed, &served(0));
        store.record("a", &failed, &served(0));
        let status = store.get("a");
        assert!(status.collected && !status.up);
        assert_eq!(count(&status, Reason::Timeout), 1);
        assert_eq!(
            status.last_error.as_deref(),
            Some("deadline of 1s exceeded")
        );
        store.record(
            "a",
            &outcome(2, Err(PluginError::Trap("boom".into()))),
            &served(0),
        );
        let status = store.get("a");
        assert_eq!(count(&status, Reason::Timeout), 1);
        assert_eq!(count(&status, Reason::Trap), 1);
    }

    #[test]
    fn a_backoff_is_no_attempt_and_counts_nothing() {
        let store = StatusStore::default();
        let backoff = PluginError::Backoff {
            seconds: 2,
            last: "trap".into(),
        };
        store.record("a", &outcome(1, Err(backoff)), &served(0));
        let status = store.get("a");
        assert!(!status.up);
        assert!(
            status.errors.values().all(|n| *n == 0),
            "{:?}",
            status.errors
        );
    }

    #[test]
    fn dropped_families_keep_the_plugin_up_unless_nothing_is_left() {
        let store = StatusStore::default();
        let mut some = outcome(1, Ok(Vec::new()));
        some.dropped = vec![Invalid {
            family: "bad".into(),
            labels: None,
            rule: Rule::MetricName,
            why: "why".into(),
        }];
        store.record("a", &some, &served(3));
        let status = store.get("a");
        assert!(status.up);
        assert_eq!((status.series, status.dropped_families), (3, 1));
        assert_eq!(count(&status, Reason::InvalidOutput), 1);
        assert_eq!(
            status.last_error.as_deref(),
            Some(&*some.dropped[0].to_string())
        );

        // Everything it returned clashed: down, counted as a clash.
        let clashed = SourceReport {
            series: 0,
            clashes: vec![Clash {
                family: "x".into(),
                reason: "taken".into(),
            }],
        };
        store.record("a", &outcome(2, Ok(Vec::new())), &clashed);
        let status = store.get("a");
        assert!(!status.up);
        assert_eq!(count(&status, Reason::NameClash), 1);
        assert_eq!(count(&status, Reason::InvalidOutput), 1);
        assert_eq!((status.series, status.dropped_families), (0, 1));

        // A clean collect brings it up again and clears the error.
        store.record("a", &outcome(3, Ok(Vec::new())), &served(2));
        let status = store.get("a");
        assert!(status.up);
        assert_eq!(status.last_error, None);
    }

    #[test]
    fn cpu_adds_up_once_per_collect_and_memory_keeps_its_peak() {
        let store = StatusStore::default();
        let mut first = outcome(1, Ok(Vec::new()));
        first.usage = Some(Usage {
            memory: 4 << 20,
            cpu: Duration::from_millis(30),
        });
        store.record("a", &first, &served(1));
        store.record("a", &first, &served(1));
        let mut second = outcome(2, Ok(Vec::new()));
        second.usage = Some(Usage {
            memory: 1 << 20,
            cpu: Duration::from_millis(20),
        });
        store.record("a", &second, &served(1));
        let status = store.get("a");
        assert_eq!(status.cpu, Duration::from_millis(50));
        assert_eq!((status.memory, status.memory_peak), (1 << 20, 4 << 20));
    }

    #[test]
    fn failed_reloads_count_and_a_removed_plugin_is_forgotten() {
        let store = StatusStore::default();
        store.count_failed_reload("a", "first");
        store.count_failed_reload("a", "second");
        store.record("b", &outcome(1, Ok(Vec::new())), &served(1));
        assert_eq!(store.get("a").failed_reloads, 2);
        assert_eq!(store.get("a").reload_error.as_deref(), Some("second"));
        store.retain(|name| name == "a");
        assert_eq!(store.get("a").failed_reloads, 2);
        assert!(!store.get("b").collected, "b was removed");
    }
}
