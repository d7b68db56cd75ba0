//! One live plugin instance: its own `Store`, calls bounded by a deadline and
//! a memory limit, and every failure turned into a typed [`PluginError`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline};

pub use super::contract::Metadata;
use super::contract::{Bindings, Collected, InitError, PluginPre};
use super::cpu::CpuTimed;
use super::dirs::DirGrants;
use super::engine::Runtime;
use super::error::error_chain;
use super::fetch::FetchContext;
use super::handles::HandleGrant;
use super::limits::{BACKSTOP_GRACE, Limits, hostcall_fuel};
use super::output::OutputCapture;
use super::state::StoreState;
use crate::exposition::raw::RawCollection;
use crate::exposition::validate::{self, Refusal};
use crate::reason::Reason;

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
    /// The collect returned more than the plugin's caps allow.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

impl PluginError {
    /// The `reason` this failure is counted under; none for a backoff, which
    /// is no attempt at all.
    pub fn reason(&self) -> Option<Reason> {
        Some(match self {
            PluginError::Load(_) => Reason::Load,
            PluginError::Instantiate(_) => Reason::Instantiate,
            PluginError::InvalidConfig(_) | PluginError::Init(_) => Reason::Init,
            PluginError::Collect(_) => Reason::Collect,
            PluginError::Timeout(_) => Reason::Timeout,
            PluginError::Memory(_) => Reason::Memory,
            PluginError::Trap(_) => Reason::Trap,
            PluginError::Refused(r) => r.reason(),
            PluginError::StderrLimit { .. } => Reason::StderrLimit,
            PluginError::Backoff { .. } => return None,
        })
    }

    /// Whether the instance must be thrown away: its Store is poisoned or it
    /// never finished starting.
    pub fn discards_instance(&self) -> bool {
        !matches!(self, PluginError::Collect(_) | PluginError::Refused(_))
    }
}

/// A started, initialised plugin instance.
pub struct Instance {
    store: Store<StoreState>,
    bindings: Bindings,
    output: OutputCapture,
    /// Its share of the host's file descriptors, given back when dropped.
    _handles: HandleGrant,
    limits: Limits,
    /// CPU time of its calls not yet taken by [`Instance::take_usage`].
    cpu: Duration,
}

/// What an instance used: its linear memory now and the CPU time of its
/// calls since the last look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of linear memory (the largest memory).
    pub memory: u64,
    /// CPU time in calls.
    pub cpu: Duration,
}

impl Instance {
    /// Instantiates `pre` in a fresh Store, before `deadline`.
    pub async fn instantiate(
        runtime: &Runtime,
        pre: &PluginPre,
        name: Arc<str>,
        limits: Limits,
        fetch: FetchContext,
        dirs: &DirGrants,
        deadline: Instant,
    ) -> Result<Self, PluginError> {
        let output = OutputCapture::new(limits.max_stderr_bytes);
        let Some(handles) = runtime.handles().take(limits.max_open_files) else {
            return Err(PluginError::Instantiate(format!(
                "the host has no file descriptors left for another instance ({} are kept for the host itself)",
                super::limits::HOST_RESERVED_FILES
            )));
        };
        let state = StoreState::new(name, &limits, handles.count(), &output, fetch, dirs);
        let mut store = Store::new(runtime.engine(), state);
        store.limiter(|s| &mut s.limiter);
        // wasmtime caps what one call may make the host allocate while
        // lifting its result: the host's memory for one result is bounded
        // by the plugin's own limit, and then by max_series/max_families.
        store.set_hostcall_fuel(hostcall_fuel(limits.memory));
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
        let mut cpu = Duration::ZERO;
        let started = timed(&mut cpu, deadline, pre.instantiate_async(&mut store)).await;
        let _ = flush_output(&store, &output);
        match started {
            Some(Ok(bindings)) => Ok(Instance {
                store,
                bindings,
                output,
                _handles: handles,
                limits,
                cpu,
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
        let outcome = timed(
            &mut self.cpu,
            deadline,
            self.bindings.metadata(&mut self.store),
        )
        .await;
        self.settle(outcome)
    }

    /// Calls `init` with the plugin's config as JSON, before `deadline`.
    pub async fn init(&mut self, config_json: &str, deadline: Instant) -> Result<(), PluginError> {
        arm(&mut self.store, deadline);
        let outcome = timed(
            &mut self.cpu,
            deadline,
            self.bindings.init(&mut self.store, config_json),
        )
        .await;
        match self.settle(outcome)? {
            Ok(()) => Ok(()),
            Err(InitError::InvalidConfig(msg)) => Err(PluginError::InvalidConfig(msg)),
            Err(InitError::Failed(msg)) => Err(PluginError::Init(msg)),
        }
    }

    /// Calls `collect`, before `deadline`, and moves what it returned into
    /// the host's types. Only the caps are checked here, so that a refused
    /// result is dropped before it is converted; validation is the next step.
    pub async fn collect(&mut self, deadline: Instant) -> Result<RawCollection, PluginError> {
        arm(&mut self.store, deadline);
        let outcome = timed(
            &mut self.cpu,
            deadline,
            self.bindings.collect(&mut self.store),
        )
        .await;
        self.lifted(outcome)
    }

    /// Calls `probe` for `target` with the request's other `params`,
    /// before `deadline`, as [`Instance::collect`] calls `collect`.
    pub async fn probe(
        &mut self,
        target: &str,
        params: &[(String, String)],
        deadline: Instant,
    ) -> Result<RawCollection, PluginError> {
        arm(&mut self.store, deadline);
        let call = self.bindings.probe(&mut self.store, target, params);
        let outcome = match timed(&mut self.cpu, deadline, call).await {
            Some(None) => {
                return Err(PluginError::Collect(
                    "the plugin does not export the prober interface".into(),
                ));
            }
            Some(Some(called)) => Some(called),
            None => None,
        };
        self.lifted(outcome)
    }

    /// What a `collect` or `probe` call returned: its error, or its
    /// collection if within the caps, moved into the host's types.
    fn lifted(
        &mut self,
        outcome: Option<wasmtime::Result<Result<Collected, String>>>,
    ) -> Result<RawCollection, PluginError> {
        let collection = self.settle(outcome)?.map_err(PluginError::Collect)?;
        validate::caps(
            collection.families(),
            collection.series(),
            self.limits.validation(),
        )?;
        Ok(collection.into_raw())
    }

    /// Whether a granted directory that could not be opened when this
    /// instance started exists now (the instance should be started anew).
    pub fn granted_dir_appeared(&self) -> bool {
        self.store
            .data()
            .unmounted
            .iter()
            .any(|dir| std::path::Path::new(dir).is_dir())
    }

    /// Its memory now, and the CPU time of its calls since the last time.
    pub fn take_usage(&mut self) -> Usage {
        Usage {
            memory: self.store.data().limiter.size as u64,
            cpu: std::mem::take(&mut self.cpu),
        }
    }

    /// Logs what the guest printed during a call and classifies a failure.
    fn settle<R>(&mut self, outcome: Option<wasmtime::Result<R>>) -> Result<R, PluginError> {
        let written = flush_output(&self.store, &self.output);
        let state = self.store.data_mut();
        state.log.end_call(&state.plugin);
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

/// [`bounded`], adding the CPU time the call took to `cpu`.
async fn timed<F: Future>(cpu: &mut Duration, deadline: Instant, fut: F) -> Option<F::Output> {
    let (out, spent) = CpuTimed::new(bounded(deadline, fut)).await;
    *cpu += spent;
    out
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
