//! What `/probe` counts per module (probes, failures by reason, a
//! histogram of durations), and the status families of one probe's answer.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::exposition::model::{Bucket, Family, Histogram, Kind, Value};
use crate::reason::ProbeReason;

/// Upper bounds of `wasm_exporter_module_probe_duration_seconds`:
/// client_golang's default buckets.
pub const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The probes of one module so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeStats {
    /// Probes answered (any status).
    pub probes: u64,
    /// Failed probes by reason (label value).
    pub failures: BTreeMap<&'static str, u64>,
    /// Probes per duration bucket (not cumulative), the last one `+Inf`.
    pub buckets: [u64; DURATION_BUCKETS.len() + 1],
    /// Sum of probe durations, in seconds.
    pub duration_sum: f64,
}

impl ProbeStats {
    /// Counts one probe that took `duration`; `failure` is its reason if it
    /// failed.
    pub fn record(&mut self, duration: Duration, failure: Option<ProbeReason>) {
        self.probes += 1;
        if let Some(reason) = failure {
            *self.failures.entry(reason.as_str()).or_default() += 1;
        }
        let seconds = duration.as_secs_f64();
        let slot = DURATION_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(DURATION_BUCKETS.len());
        self.buckets[slot] += 1;
        self.duration_sum += seconds;
    }
}

/// Every module's probe counts, by module name.
#[derive(Default)]
pub struct ProbeCounters {
    modules: Mutex<HashMap<String, ProbeStats>>,
}

impl ProbeCounters {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, ProbeStats>> {
        self.modules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one probe of `module` answered after `duration`.
    pub fn record(&self, module: &str, duration: Duration, failure: Option<ProbeReason>) {
        let mut modules = self.lock();
        match modules.get_mut(module) {
            Some(stats) => stats.record(duration, failure),
            None => {
                let mut stats = ProbeStats::default();
                stats.record(duration, failure);
                modules.insert(module.to_owned(), stats);
            }
        }
    }

    /// `module`'s counts so far (all zero before its first probe).
    pub fn stats(&self, module: &str) -> ProbeStats {
        self.lock().get(module).cloned().unwrap_or_default()
    }

    /// Forgets the modules `keep` refuses (removed on reload).
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.lock().retain(|name, _| keep(name));
    }

    /// The families of `modules` (the modules that answer `/probe`, by
    /// name in name order), each present from the start.
    pub fn families(&self, modules: &[&str]) -> Vec<Family> {
        let counts: Vec<(&str, ProbeStats)> = modules.iter().map(|m| (*m, self.stats(m))).collect();
        families(&counts)
    }
}

/// The host's status of one probe, added to what the plugin produced.
pub fn answer_families(success: bool, seconds: f64) -> [Family; 2] {
    let mut ok = Family::new(
        Kind::Gauge,
        "wasm_exporter_probe_success",
        "Whether the probe's collect succeeded (1) or failed (0).",
    );
    ok.push(vec![], Value::Gauge(if success { 1.0 } else { 0.0 }));
    let mut took = Family::new(
        Kind::Gauge,
        "wasm_exporter_probe_duration_seconds",
        "How long the probe took, in seconds.",
    )
    .with_unit("seconds");
    took.push(vec![], Value::Gauge(seconds));
    [ok, took]
}

/// The `/probe` counts of each module that answers it, given by name in
/// name order: probes, failures by reason (every reason a probe can fail
/// with, present from the start) and a histogram of their durations.
fn families(modules: &[(&str, ProbeStats)]) -> Vec<Family> {
    let counter = |total: u64| Value::Counter {
        total: total as f64,
        exemplar: None,
    };
    let mut probes = Family::new(
        Kind::Counter,
        "wasm_exporter_probes_total",
        "Probes of the module answered on /probe.",
    )
    .with_labels(&["module"]);
    let mut failures = Family::new(
        Kind::Counter,
        "wasm_exporter_probe_failures_total",
        "Probes of the module that failed, by reason: target_denied (outside grants.fetch, answered 403), invalid_target, busy (no probe slot before the deadline), or the plugin's failure reason.",
    )
    .with_labels(&["module", "reason"]);
    let mut duration = Family::new(
        Kind::Histogram,
        "wasm_exporter_module_probe_duration_seconds",
        "Duration of the module's probes, in seconds (each probe's own is wasm_exporter_probe_duration_seconds in its answer).",
    )
    .with_labels(&["module"])
    .with_unit("seconds");
    for (name, stats) in modules {
        let module = || vec![(*name).to_owned()];
        probes.push(module(), counter(stats.probes));
        let mut reasons = stats.failures.clone();
        for reason in ProbeReason::ALWAYS {
            reasons.entry(reason.as_str()).or_insert(0);
        }
        for (reason, n) in reasons {
            failures.push(vec![(*name).to_owned(), reason.to_owned()], counter(n));
        }
        let mut cumulative = 0;
        let buckets: Vec<Bucket> = DURATION_BUCKETS
            .iter()
            .chain([&f64::INFINITY])
            .zip(stats.buckets)
            .map(|(bound, n)| {
                cumulative += n;
                Bucket {
                    upper_bound: *bound,
                    cumulative_count: cumulative,
                    exemplar: None,
                }
            })
            .collect();
        duration.push(
            module(),
            Value::Histogram(Box::new(Histogram {
                buckets,
                sum: stats.duration_sum,
                count: stats.probes,
                native: None,
            })),
        );
    }
    vec![probes, failures, duration]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::Reason;

    #[test]
    fn durations_fall_in_the_first_bucket_that_holds_them() {
        let timeout = Some(ProbeReason::Plugin(Reason::Timeout));
        let mut stats = ProbeStats::default();
        stats.record(Duration::from_millis(3), None);
        stats.record(Duration::from_millis(10), timeout);
        stats.record(Duration::from_secs(60), timeout);
        assert_eq!(stats.probes, 3);
        assert_eq!(stats.failures.get("timeout"), Some(&2));
        assert_eq!(stats.buckets[0], 1);
        assert_eq!(stats.buckets[1], 1, "10 ms is <= the 0.01 bound");
        assert_eq!(stats.buckets[DURATION_BUCKETS.len()], 1, "+Inf");
        assert!((stats.duration_sum - 60.013).abs() < 1e-9);
    }

    #[test]
    fn every_module_that_probes_has_its_families_from_the_start() {
        let counters = ProbeCounters::default();
        counters.record("b", Duration::from_millis(1), Some(ProbeReason::Busy));
        let families = counters.families(&["a", "b"]);
        let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "wasm_exporter_probes_total",
                "wasm_exporter_probe_failures_total",
                "wasm_exporter_module_probe_duration_seconds"
            ]
        );
        let totals: Vec<(String, f64)> = families[0]
            .series
            .iter()
            .map(|s| match s.value {
                Value::Counter { total, .. } => (s.label_values[0].to_string(), total),
                _ => panic!("not a counter"),
            })
            .collect();
        assert_eq!(totals, [("a".to_owned(), 0.0), ("b".to_owned(), 1.0)]);
        // Five reasons from the start for each module.
        assert_eq!(families[1].series.len(), 10);
        counters.retain(|m| m == "a");
        assert_eq!(counters.stats("b"), ProbeStats::default());
    }
}
