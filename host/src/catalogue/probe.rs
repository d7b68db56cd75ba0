//! `/probe` for one plugin: a collect for a target named by the request,
//! on instances of their own (up to `limits.probe_concurrency` at once, so
//! probes never wait for `/metrics` collects or for each other), with
//! identical concurrent probes sharing one call and different targets
//! never sharing anything. What a probe gave is returned as data; the
//! caller counts it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};

use super::PluginEntry;
use crate::exposition::model::Family;
use crate::exposition::validate::{self, Invalid, rules::host_owns_escaped};
use crate::reason::ProbeReason;
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
    pub fn reason(&self) -> ProbeReason {
        match self {
            ProbeError::Busy(_) => ProbeReason::Busy,
            ProbeError::Plugin(e) => e.reason().map_or(ProbeReason::Backoff, ProbeReason::Plugin),
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

/// A plugin's probe instances and calls in flight.
pub struct Probes {
    idle: Mutex<Vec<Instance>>,
    slots: Arc<tokio::sync::Semaphore>,
    concurrency: usize,
    inflight: Mutex<HashMap<ProbeRequest, InFlight>>,
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
        }
    }
}

/// Probes `request.target` with `entry`, sharing the call with identical
/// probes in flight; the first caller's `deadline` bounds it. The call runs
/// as a task of its own: a scraper that hangs up does not leave it half
/// done holding an instance and a slot, and the task takes its entry out of
/// the in-flight table when it is done.
pub async fn call(
    entry: &Arc<PluginEntry>,
    runtime: &Runtime,
    request: ProbeRequest,
    deadline: Instant,
) -> Arc<ProbeOutcome> {
    let shared = {
        let mut inflight = lock(&entry.probe.inflight);
        match inflight.get(&request) {
            Some(f) => f.clone(),
            None => {
                let me = Arc::clone(entry);
                let runtime = runtime.clone();
                let asked = request.clone();
                let task = tokio::spawn(async move {
                    let outcome = Arc::new(probe_once(&me, &runtime, &asked, deadline).await);
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
    entry: &PluginEntry,
    runtime: &Runtime,
    request: &ProbeRequest,
    deadline: Instant,
) -> ProbeOutcome {
    let failed = |e: ProbeError| ProbeOutcome {
        result: Err(e),
        dropped: Vec::new(),
    };
    let wait = tokio::time::Instant::from_std(deadline);
    let slots = Arc::clone(&entry.probe.slots);
    let Ok(Ok(_slot)) = tokio::time::timeout_at(wait, slots.acquire_owned()).await else {
        return failed(ProbeError::Busy(entry.probe.concurrency));
    };
    let idle = lock(&entry.probe.idle).pop();
    let mut instance = match idle {
        Some(instance) => instance,
        None => {
            // Its own kept-alive connection (probes run side by side)
            // and counters: a probed target that fails is that probe's
            // data, not a failure of the module's `/metrics` collect.
            let fetch = FetchContext {
                idle: Arc::default(),
                stats: Default::default(),
                ..entry.fetch.clone()
            };
            match entry.new_instance(runtime, fetch, deadline).await {
                Ok((instance, _)) => instance,
                Err(e) => return failed(e.into()),
            }
        }
    };
    let raw = instance
        .probe(&request.target, &request.params, deadline)
        .await;
    if !raw.as_ref().is_err_and(PluginError::discards_instance) {
        lock(&entry.probe.idle).push(instance);
    }
    let ctx = validate::Context {
        limits: entry.limits.validation(),
        const_labels: &entry.const_labels,
        host_owns: &host_owns_escaped,
    };
    match raw.and_then(|raw| validate::collection(raw, &ctx).map_err(PluginError::from)) {
        Ok(checked) => ProbeOutcome {
            result: Ok(checked.families),
            dropped: checked.dropped,
        },
        Err(e) => failed(e.into()),
    }
}
