//! `/probe` for one plugin: a collect for a target named by the request,
//! on instances of their own (up to `limits.probe_concurrency` at once, so
//! probes never wait for `/metrics` collects or for each other), with
//! identical concurrent probes sharing one call and different targets
//! never sharing anything. Each probe is counted into [`ProbeStats`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};

use super::PluginEntry;
use crate::exposition::model::Family;
use crate::exposition::validate::{self, Invalid};
use crate::runtime::fetch::FetchContext;
use crate::runtime::{Instance, PluginError, Runtime};

/// What a probe asks: the target and the request's other parameters. Two
/// probes share a call only when both are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProbeRequest {
    /// `target=`.
    pub target: String,
    /// The other query parameters, `module` and `target` left out, in order.
    pub params: Vec<(String, String)>,
}

/// Why a probe gave no data, beside the plugin's own failures.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbeError {
    /// Every probe slot of the module stayed busy until the deadline.
    #[error("every one of the module's {0} probe slots stayed busy until the deadline")]
    Busy(usize),
    /// The plugin failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

impl ProbeError {
    /// The `reason` label of `wasm_exporter_probe_failures_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ProbeError::Busy(_) => "busy",
            ProbeError::Plugin(e) => e.reason().map_or("backoff", |r| r.as_str()),
        }
    }
}

/// What one probe call produced.
#[derive(Debug)]
pub struct ProbeOutcome {
    /// The valid families, or why there are none.
    pub result: Result<Vec<Family>, ProbeError>,
    /// Families dropped as invalid.
    pub dropped: Vec<Invalid>,
}

type InFlight = Shared<BoxFuture<'static, Arc<ProbeOutcome>>>;

/// Upper bounds of `wasm_exporter_probe_duration_seconds`: client_golang's
/// default buckets.
pub const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The probes of one module so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeStats {
    /// Probes answered (any status).
    pub probes: u64,
    /// Failed probes by reason.
    pub failures: BTreeMap<&'static str, u64>,
    /// Probes per duration bucket (not cumulative), the last one `+Inf`.
    pub buckets: [u64; DURATION_BUCKETS.len() + 1],
    /// Sum of probe durations, in seconds.
    pub duration_sum: f64,
}

impl ProbeStats {
    /// Counts one probe that took `duration`; `failure` is its reason if it
    /// failed.
    pub fn record(&mut self, duration: Duration, failure: Option<&'static str>) {
        self.probes += 1;
        if let Some(reason) = failure {
            *self.failures.entry(reason).or_default() += 1;
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

/// A plugin's probe instances, calls in flight and counts.
pub struct Probes {
    idle: Mutex<Vec<Instance>>,
    slots: Arc<tokio::sync::Semaphore>,
    concurrency: usize,
    inflight: Mutex<HashMap<ProbeRequest, InFlight>>,
    stats: Mutex<ProbeStats>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Probes {
    /// No instance yet; `concurrency` slots.
    pub fn new(concurrency: usize) -> Self {
        Probes {
            idle: Mutex::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(concurrency)),
            concurrency,
            inflight: Mutex::default(),
            stats: Mutex::default(),
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> ProbeStats {
        lock(&self.stats).clone()
    }

    /// Counts one probe answered.
    pub fn record(&self, duration: Duration, failure: Option<&'static str>) {
        lock(&self.stats).record(duration, failure);
    }
}

impl PluginEntry {
    /// Whether the plugin answers `/probe`.
    pub fn probes(&self) -> bool {
        self.pre.as_ref().is_ok_and(|pre| pre.probes())
    }

    /// Probes `request.target`, sharing the call with identical probes in
    /// flight; the first caller's `deadline` bounds it. The call runs as a
    /// task of its own: a scraper that hangs up does not leave it half done
    /// holding an instance and a slot, and the task takes its entry out of
    /// the in-flight table when it is done.
    pub async fn probe(
        self: &Arc<Self>,
        runtime: &Runtime,
        request: ProbeRequest,
        deadline: Instant,
    ) -> Arc<ProbeOutcome> {
        let shared = {
            let mut inflight = lock(&self.probe.inflight);
            match inflight.get(&request) {
                Some(f) => f.clone(),
                None => {
                    let me = Arc::clone(self);
                    let runtime = runtime.clone();
                    let asked = request.clone();
                    let task = tokio::spawn(async move {
                        let outcome = Arc::new(me.probe_once(&runtime, &asked, deadline).await);
                        lock(&me.probe.inflight).remove(&asked);
                        outcome
                    });
                    let fut = async move {
                        task.await.unwrap_or_else(|e| {
                            Arc::new(ProbeOutcome {
                                result: Err(
                                    PluginError::Trap(format!("probe task failed: {e}")).into()
                                ),
                                dropped: Vec::new(),
                            })
                        })
                    }
                    .boxed()
                    .shared();
                    inflight.insert(request, fut.clone());
                    fut
                }
            }
        };
        shared.await
    }

    /// One probe call on an idle instance, or a new one when none is idle,
    /// within the module's slots. An instance that failed in a way that
    /// poisons it is dropped; a healthy one waits for the next probe.
    async fn probe_once(
        &self,
        runtime: &Runtime,
        request: &ProbeRequest,
        deadline: Instant,
    ) -> ProbeOutcome {
        let failed = |e: ProbeError| ProbeOutcome {
            result: Err(e),
            dropped: Vec::new(),
        };
        let wait = tokio::time::Instant::from_std(deadline);
        let slots = Arc::clone(&self.probe.slots);
        let Ok(Ok(_slot)) = tokio::time::timeout_at(wait, slots.acquire_owned()).await else {
            return failed(ProbeError::Busy(self.probe.concurrency));
        };
        let idle = lock(&self.probe.idle).pop();
        let mut instance = match idle {
            Some(instance) => instance,
            None => {
                // Its own kept-alive connection (probes run side by side)
                // and counters: a probed target that fails is that probe's
                // data, not a failure of the module's `/metrics` collect.
                let fetch = FetchContext {
                    idle: Arc::default(),
                    stats: Default::default(),
                    ..self.fetch.clone()
                };
                match self.new_instance(runtime, fetch, deadline).await {
                    Ok((instance, _)) => instance,
                    Err(e) => return failed(e.into()),
                }
            }
        };
        let raw = instance
            .probe(&request.target, &request.params, deadline)
            .await;
        if !raw.as_ref().is_err_and(PluginError::discards_instance) {
            lock(&self.probe.idle).push(instance);
        }
        let ctx = validate::Context {
            limits: self.limits.validation(),
            const_labels: &self.const_labels,
            host_owns: &crate::selfmetrics::host_owns,
        };
        match raw.and_then(|raw| validate::collection(raw, &ctx).map_err(PluginError::from)) {
            Ok(checked) => ProbeOutcome {
                result: Ok(checked.families),
                dropped: checked.dropped,
            },
            Err(e) => failed(e.into()),
        }
    }

    /// Counts one probe answered for this module.
    pub fn record_probe(&self, duration: Duration, failure: Option<&'static str>) {
        self.probe.record(duration, failure);
    }

    /// This module's probe counts.
    pub fn probe_stats(&self) -> ProbeStats {
        self.probe.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_the_first_bucket_that_holds_them() {
        let mut stats = ProbeStats::default();
        stats.record(Duration::from_millis(3), None);
        stats.record(Duration::from_millis(10), Some("timeout"));
        stats.record(Duration::from_secs(60), Some("timeout"));
        assert_eq!(stats.probes, 3);
        assert_eq!(stats.failures.get("timeout"), Some(&2));
        assert_eq!(stats.buckets[0], 1);
        assert_eq!(stats.buckets[1], 1, "10 ms is <= the 0.01 bound");
        assert_eq!(stats.buckets[DURATION_BUCKETS.len()], 1, "+Inf");
        assert!((stats.duration_sum - 60.013).abs() < 1e-9);
    }
}
