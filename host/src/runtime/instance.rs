//! One live plugin instance: its own `Store`, calls bounded by a deadline and
//! a memory limit, and every failure turned into a typed [`PluginError`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline};

use super::bindings::{Plugin, PluginPre, types as wit};
use super::convert;
use super::engine::{Runtime, error_chain};
use super::fetch::FetchContext;
use super::output::OutputCapture;
use super::state::StoreState;
use crate::config::Limits;
use crate::exposition::model::Family;
use crate::exposition::validate::Invalid;

/// Extra time past the deadline before the host abandons a call that the
/// epoch could not stop (a guest blocked inside a host call).
const BACKSTOP_GRACE: Duration = Duration::from_millis(250);

/// Why a plugin produced no data for a scrape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PluginError {
    /// The plugin's files could not be loaded (unreadable, not a component,
    /// a bad `NAME.yml`).
    #[error("{0}")]
    Load(String),
    /// Instantiation failed.
    #[error("instantiation failed: {0}")]
    Instantiate(String),
    /// `init` rejected the configuration.
    #[error("init rejected the config: {0}")]
    InvalidConfig(String),
    /// `init` failed for another reason.
    #[error("init failed: {0}")]
    Init(String),
    /// `collect` returned an error value.
    #[error("collect failed: {0}")]
    Collect(String),
    /// The call ran past its deadline.
    #[error("deadline of {0:?} exceeded")]
    Timeout(Duration),
    /// The plugin grew its memory past the limit.
    #[error("memory limit of {0} bytes exceeded")]
    Memory(u64),
    /// The plugin trapped (panic, unreachable, out of bounds...).
    #[error("trapped: {0}")]
    Trap(String),
    /// The plugin wrote more to stdout and stderr in one call than its
    /// `limits.max_stderr_bytes`; the call's result is not used.
    #[error("wrote {bytes} bytes to stdout/stderr in one call, over the limit of {limit}")]
    StderrLimit {
        /// Bytes written.
        bytes: u64,
        /// The limit.
        limit: usize,
    },
    /// The plugin keeps failing; no new instance is tried until the backoff
    /// has passed.
    #[error("backing off after repeated failures, next attempt in {seconds} s; last error: {last}")]
    Backoff {
        /// Seconds until the next attempt.
        seconds: u64,
        /// The last failure.
        last: String,
    },
    /// The plugin returned more series than its limit.
    #[error("returned {count} series, over the limit of {limit}")]
    TooManySeries {
        /// Series returned.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

impl PluginError {
    /// The `reason` label of `wasm_exporter_plugin_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            PluginError::Load(_) => "load",
            PluginError::Instantiate(_) => "instantiate",
            PluginError::InvalidConfig(_) | PluginError::Init(_) => "init",
            PluginError::Collect(_) => "collect",
            PluginError::Timeout(_) => "timeout",
            PluginError::Memory(_) => "memory",
            PluginError::Trap(_) => "trap",
            PluginError::TooManySeries { .. } => "too_many_series",
            PluginError::Backoff { .. } => "backoff",
            PluginError::StderrLimit { .. } => "stderr_limit",
        }
    }

    /// Whether the instance must be thrown away: its Store is poisoned or it
    /// never finished starting.
    pub fn discards_instance(&self) -> bool {
        !matches!(
            self,
            PluginError::Collect(_) | PluginError::TooManySeries { .. }
        )
    }
}

/// Metadata a plugin reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Plugin name (its package name).
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// One-line description.
    pub description: String,
}

/// A started, initialised plugin instance.
pub struct Instance {
    store: Store<StoreState>,
    bindings: Plugin,
    output: OutputCapture,
    limits: Limits,
}

impl Instance {
    /// Instantiates `pre` in a fresh Store, before `deadline`.
    pub async fn instantiate(
        runtime: &Runtime,
        pre: &PluginPre<StoreState>,
        name: Arc<str>,
        limits: Limits,
        fetch: FetchContext,
        deadline: Instant,
    ) -> Result<Self, PluginError> {
        let output = OutputCapture::new(limits.max_stderr_bytes);
        let state = StoreState::new(name, limits.memory, &output, fetch);
        let mut store = Store::new(runtime.engine(), state);
        store.limiter(|s| &mut s.limiter);
        // wasmtime caps what one call may make the host allocate while
        // lifting its result (128 MiB by default), which a plugin within its
        // own memory limit and max_series can pass: a million series lift to
        // ~150 MiB of host structures. Scale the cap with the memory limit;
        // max_series remains the bound on the series themselves.
        store.set_hostcall_fuel(
            usize::try_from(limits.memory.saturating_mul(2))
                .unwrap_or(usize::MAX)
                .max(128 << 20),
        );
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            if Instant::now() >= state.deadline {
                state.timed_out = true;
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        arm(&mut store, deadline);
        let started = bounded(deadline, pre.instantiate_async(&mut store)).await;
        let _ = flush_output(&store, &output);
        match started {
            Some(Ok(bindings)) => Ok(Instance {
                store,
                bindings,
                output,
                limits,
            }),
            Some(Err(e)) => Err(match classify(&store, &e, limits) {
                PluginError::Trap(msg) => PluginError::Instantiate(msg),
                other => other,
            }),
            None => Err(PluginError::Timeout(limits.timeout)),
        }
    }

    /// Asks the plugin for its metadata, before `deadline`.
    pub async fn metadata(&mut self, deadline: Instant) -> Result<Metadata, PluginError> {
        arm(&mut self.store, deadline);
        let collector = self.bindings.wasm_exporter_plugin_collector();
        let outcome = bounded(deadline, collector.call_metadata(&mut self.store)).await;
        let m = self.settle(outcome)?;
        Ok(Metadata {
            name: m.name,
            version: m.version,
            description: m.description,
        })
    }

    /// Calls `init` with the plugin's config as JSON, before `deadline`.
    pub async fn init(&mut self, config_json: &str, deadline: Instant) -> Result<(), PluginError> {
        arm(&mut self.store, deadline);
        let collector = self.bindings.wasm_exporter_plugin_collector();
        let outcome = bounded(deadline, collector.call_init(&mut self.store, config_json)).await;
        match self.settle(outcome)? {
            Ok(()) => Ok(()),
            Err(wit::InitError::InvalidConfig(msg)) => Err(PluginError::InvalidConfig(msg)),
            Err(wit::InitError::Failed(msg)) => Err(PluginError::Init(msg)),
        }
    }

    /// Calls `collect` and converts its families, before `deadline`. A
    /// family whose label values cannot be resolved comes back as an error
    /// of its own, to drop and count like a validation failure.
    pub async fn collect(
        &mut self,
        deadline: Instant,
    ) -> Result<Vec<Result<Family, Invalid>>, PluginError> {
        arm(&mut self.store, deadline);
        let collector = self.bindings.wasm_exporter_plugin_collector();
        let outcome = bounded(deadline, collector.call_collect(&mut self.store)).await;
        let result = self.settle(outcome)?;
        let collection = result.map_err(|e| PluginError::Collect(e.message))?;
        let count: usize = collection.families.iter().map(|f| f.series.len()).sum();
        if count > self.limits.max_series {
            return Err(PluginError::TooManySeries {
                count,
                limit: self.limits.max_series,
            });
        }
        let strings = convert::strings(collection.strings);
        Ok(collection
            .families
            .into_iter()
            .map(|f| convert::family(f, &strings))
            .collect())
    }

    /// Logs what the guest printed during a call and classifies a failure.
    fn settle<R>(&self, outcome: Option<wasmtime::Result<R>>) -> Result<R, PluginError> {
        let written = flush_output(&self.store, &self.output);
        match outcome {
            Some(Ok(_)) if written > self.limits.max_stderr_bytes as u64 => {
                Err(PluginError::StderrLimit {
                    bytes: written,
                    limit: self.limits.max_stderr_bytes,
                })
            }
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => Err(classify(&self.store, &e, self.limits)),
            None => Err(PluginError::Timeout(self.limits.timeout)),
        }
    }
}

/// Sets the deadline for the next call. The epoch deadline is relative and
/// one-shot, so it is armed before every call.
fn arm(store: &mut Store<StoreState>, deadline: Instant) {
    let state = store.data_mut();
    state.deadline = deadline;
    state.timed_out = false;
    store.set_epoch_deadline(1);
}

/// Runs `fut` until a little past `deadline`; `None` when it had to be
/// abandoned (which poisons the Store: the caller discards the instance).
async fn bounded<F: Future>(deadline: Instant, fut: F) -> Option<F::Output> {
    let backstop = tokio::time::Instant::from_std(deadline + BACKSTOP_GRACE);
    tokio::time::timeout_at(backstop, fut).await.ok()
}

fn classify(store: &Store<StoreState>, e: &wasmtime::Error, limits: Limits) -> PluginError {
    let state = store.data();
    if state.timed_out || e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        PluginError::Timeout(limits.timeout)
    } else if state.limiter.exceeded {
        PluginError::Memory(limits.memory)
    } else if let Some(trap) = e.downcast_ref::<Trap>() {
        PluginError::Trap(trap.to_string())
    } else {
        PluginError::Trap(error_chain(e))
    }
}

/// Logs what the guest printed during a call, tagged with the plugin, and
/// returns how many bytes it wrote. Output over the per-call limit is not
/// logged line by line: the call fails with `stderr_limit`, which is logged
/// once per state change like any failure.
fn flush_output(store: &Store<StoreState>, output: &OutputCapture) -> u64 {
    let drained = output.drain();
    if drained.dropped == 0 {
        let plugin = &*store.data().plugin;
        for line in drained.text.lines().filter(|l| !l.trim().is_empty()) {
            tracing::warn!(plugin, stream = "stderr", "{line}");
        }
    }
    drained.text.len() as u64 + drained.dropped
}
