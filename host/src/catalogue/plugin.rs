//! One configured plugin and its supervisor: the instance, started on
//! demand and discarded after a trap, the backoff of a plugin that keeps
//! failing, and the collect that turns a call into an [`Outcome`]. A
//! collect changes nothing shared: the scrape records its outcome.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::outcome::{FetchCounts, Outcome};
use crate::exposition::model::LabelValue;
use crate::exposition::validate::{self, rules::host_owns_escaped};
use crate::runtime::contract::PluginPre;
use crate::runtime::dirs::DirGrants;
use crate::runtime::fetch::FetchContext;
use crate::runtime::limits::{Limits, backoff};
use crate::runtime::{Instance, Metadata, PluginError, Runtime};

/// The instance and its failure history; behind the entry's async mutex,
/// so calls into one plugin never overlap.
#[derive(Default)]
struct Supervisor {
    instance: Option<Instance>,
    metadata: Option<Metadata>,
    /// Failed collects in a row that discarded the instance.
    failures: u32,
    /// No new instance is tried before this time.
    retry_at: Option<Instant>,
    /// The last failure, for the backoff's message.
    last_error: String,
}

type InFlight = futures::future::Shared<futures::future::BoxFuture<'static, Arc<Outcome>>>;

/// One configured plugin.
pub struct PluginEntry {
    /// Instance name: the file stem, and the `plugin` label.
    pub name: Arc<str>,
    /// The `.wasm` file.
    pub wasm_path: PathBuf,
    /// Hash of the `.wasm` and `NAME.yml` contents this entry was made from.
    pub fingerprint: u64,
    /// Limits in force.
    pub limits: Limits,
    /// Labels added to every series, sorted by name, already checked.
    pub const_labels: Vec<(String, LabelValue)>,
    /// The config `init` receives, as JSON.
    pub config_json: String,
    /// Grants and limits of the `fetch` capability.
    pub fetch: FetchContext,
    /// Directories the plugin may read (`grants.dirs`).
    pub dirs: DirGrants,
    /// `enabled:` of its `NAME.yml`: false keeps it loaded, never collected.
    pub enabled: bool,
    pub(super) pre: Result<PluginPre, PluginError>,
    /// Probe instances, calls and counts (`/probe`).
    pub(super) probe: super::probe::Probes,
    supervisor: tokio::sync::Mutex<Supervisor>,
    /// The collect in flight, which concurrent scrapes join.
    inflight: Mutex<Option<InFlight>>,
    /// Collects so far: the sequence number of the next [`Outcome`].
    collects: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PluginEntry {
    /// An entry ready to instantiate from `pre`, or, with an error, one whose
    /// files failed to load: always down, with that error.
    pub fn new(
        name: Arc<str>,
        wasm_path: PathBuf,
        limits: Limits,
        pre: Result<PluginPre, PluginError>,
    ) -> Self {
        PluginEntry {
            fingerprint: 0,
            name,
            wasm_path,
            limits,
            const_labels: Vec::new(),
            config_json: "{}".to_owned(),
            fetch: FetchContext::deny_all(),
            dirs: DirGrants::default(),
            enabled: true,
            probe: super::probe::Probes::new(limits.probe_concurrency),
            pre,
            supervisor: tokio::sync::Mutex::default(),
            inflight: Mutex::new(None),
            collects: AtomicU64::new(0),
        }
    }

    /// An entry whose files failed to load.
    pub fn failed(name: Arc<str>, wasm_path: PathBuf, limits: Limits, error: String) -> Self {
        Self::new(name, wasm_path, limits, Err(PluginError::Load(error)))
    }

    /// Why the plugin's files failed to load, if they did.
    pub fn load_error(&self) -> Option<String> {
        self.pre.as_ref().err().map(ToString::to_string)
    }

    /// Whether the plugin answers `/probe`.
    pub fn probes(&self) -> bool {
        self.pre.as_ref().is_ok_and(|pre| pre.probes())
    }

    /// Collects once for every scrape that asks while a collect is in
    /// flight: the first caller starts it (bounded by its `deadline`), later
    /// ones share its outcome. No double work, no overlapping calls.
    pub async fn collect_coalesced(
        self: &Arc<Self>,
        runtime: &Runtime,
        deadline: Instant,
    ) -> Arc<Outcome> {
        use futures::FutureExt as _;
        let shared = {
            let mut inflight = lock(&self.inflight);
            match inflight.as_ref() {
                Some(f) if f.peek().is_none() => f.clone(),
                _ => {
                    let me = Arc::clone(self);
                    let runtime = runtime.clone();
                    let fut = async move { Arc::new(me.collect(&runtime, deadline).await) }
                        .boxed()
                        .shared();
                    *inflight = Some(fut.clone());
                    fut
                }
            }
        };
        let outcome = shared.await;
        // Once done, the slot's handle would keep a reference to the outcome
        // alive until the next collect, and every scrape would have to copy
        // it; drop it so that the last scrape to finish can take it.
        let mut inflight = lock(&self.inflight);
        if inflight
            .as_ref()
            .and_then(|f| f.peek())
            .is_some_and(|done| Arc::ptr_eq(done, &outcome))
        {
            *inflight = None;
        }
        outcome
    }

    /// Collects and validates, finishing by `deadline`. A missing instance
    /// (first call, or after a failure) is instantiated and initialised
    /// first; a failure that poisons the instance discards it.
    pub async fn collect(&self, runtime: &Runtime, deadline: Instant) -> Outcome {
        let id = self.collects.fetch_add(1, Ordering::Relaxed) + 1;
        let start = Instant::now();
        let wait = tokio::time::Instant::from_std(deadline);
        let Ok(mut supervisor) = tokio::time::timeout_at(wait, self.supervisor.lock()).await else {
            return Outcome::failed(id, PluginError::Timeout(self.limits.timeout));
        };
        let raw = self.call(&mut supervisor, runtime, deadline).await;
        let duration = start.elapsed();
        let mut next_attempt = None;
        if let Err(e) = &raw {
            next_attempt = note_failure(&mut supervisor, e);
        } else {
            supervisor.failures = 0;
            supervisor.retry_at = None;
        }
        let ctx = validate::Context {
            limits: self.limits.validation(),
            const_labels: &self.const_labels,
            host_owns: &host_owns_escaped,
        };
        let checked =
            raw.and_then(|raw| validate::collection(raw, &ctx).map_err(PluginError::from));
        let (result, dropped) = match checked {
            Ok(c) => (Ok(c.families), c.dropped),
            Err(e) => (Err(e), Vec::new()),
        };
        let usage = supervisor.instance.as_mut().map(Instance::take_usage);
        Outcome {
            usage,
            id,
            result,
            dropped,
            duration,
            metadata: supervisor.metadata.clone(),
            next_attempt,
            fetch: self.fetch_counts(),
        }
    }

    /// Calls `collect` and lifts what it returns, validating nothing:
    /// what crossing the boundary costs (the guest's work, its lowering,
    /// the host's lift), for the floors of `make bench`. Serving always
    /// goes through [`PluginEntry::collect`].
    #[doc(hidden)]
    pub async fn collect_unchecked(
        &self,
        runtime: &Runtime,
        deadline: Instant,
    ) -> Result<crate::exposition::raw::RawCollection, PluginError> {
        let mut supervisor = self.supervisor.lock().await;
        self.call(&mut supervisor, runtime, deadline).await
    }

    /// The plugin's fetch failures so far.
    fn fetch_counts(&self) -> FetchCounts {
        let stats = lock(&self.fetch.stats);
        FetchCounts {
            denied: stats.denied,
            failed: stats.failed,
            last_failure: stats.last_failure.clone(),
        }
    }

    /// Instantiates and initialises the plugin ahead of its first collect
    /// (at start), so that an `init` that fails is known at once rather
    /// than at the first scrape. A failure is the outcome a collect would
    /// have had (counted, with the same backoff); success, a file that did
    /// not load (already reported) or an instance already there is none.
    pub async fn start_early(&self, runtime: &Runtime) -> Option<Outcome> {
        let mut supervisor = self.supervisor.lock().await;
        if supervisor.instance.is_some() || self.pre.is_err() {
            return None;
        }
        let begun = Instant::now();
        let error = self
            .start(&mut supervisor, runtime, begun + self.limits.timeout)
            .await
            .err()?;
        let next_attempt = note_failure(&mut supervisor, &error);
        let id = self.collects.fetch_add(1, Ordering::Relaxed) + 1;
        Some(Outcome {
            duration: begun.elapsed(),
            next_attempt,
            fetch: self.fetch_counts(),
            ..Outcome::failed(id, error)
        })
    }

    /// One call of `collect`, starting an instance first when there is
    /// none and the backoff allows.
    async fn call(
        &self,
        supervisor: &mut Supervisor,
        runtime: &Runtime,
        deadline: Instant,
    ) -> Result<crate::exposition::raw::RawCollection, PluginError> {
        if supervisor
            .instance
            .as_ref()
            .is_some_and(Instance::granted_dir_appeared)
        {
            tracing::info!(plugin = %self.name, "a granted directory appeared; starting the plugin anew");
            supervisor.instance = None;
        }
        if supervisor.instance.is_none() {
            if let Some(at) = supervisor.retry_at.filter(|at| *at > Instant::now()) {
                return Err(PluginError::Backoff {
                    seconds: (at - Instant::now()).as_secs_f64().ceil() as u64,
                    last: supervisor.last_error.clone(),
                });
            }
            self.start(supervisor, runtime, deadline).await?;
        }
        match supervisor.instance.as_mut() {
            Some(instance) => instance.collect(deadline).await,
            None => Err(PluginError::Instantiate("no instance".into())),
        }
    }

    /// Instantiates the plugin, asks its metadata and runs `init`.
    async fn start(
        &self,
        supervisor: &mut Supervisor,
        runtime: &Runtime,
        deadline: Instant,
    ) -> Result<(), PluginError> {
        let (instance, metadata) = self
            .new_instance(runtime, self.fetch.clone(), deadline)
            .await?;
        supervisor.metadata = Some(metadata);
        supervisor.instance = Some(instance);
        Ok(())
    }

    /// A new instance, initialised with the plugin's config, and the
    /// metadata it reports; its fetches go through `fetch`.
    pub(super) async fn new_instance(
        &self,
        runtime: &Runtime,
        fetch: FetchContext,
        deadline: Instant,
    ) -> Result<(Instance, Metadata), PluginError> {
        let pre = self.pre.as_ref().map_err(Clone::clone)?;
        let mut instance = Instance::instantiate(
            runtime,
            pre,
            self.name.clone(),
            self.limits,
            fetch,
            &self.dirs,
            deadline,
        )
        .await?;
        let metadata = instance.metadata(deadline).await?;
        instance.init(&self.config_json, deadline).await?;
        Ok((instance, metadata))
    }

    /// Instantiates and initialises the plugin now, so that a reload can
    /// check a new version before it replaces the old one. The instance is
    /// kept for the next collect.
    pub async fn prime(&self, runtime: &Runtime) -> Result<(), PluginError> {
        let deadline = Instant::now() + self.limits.timeout;
        let mut supervisor = self.supervisor.lock().await;
        self.start(&mut supervisor, runtime, deadline).await
    }
}

/// After `error`: an error that discards the instance discards it and
/// starts or extends the backoff. The wait before the next attempt, if any.
fn note_failure(supervisor: &mut Supervisor, error: &PluginError) -> Option<Duration> {
    if !error.discards_instance() || matches!(error, PluginError::Backoff { .. }) {
        return None;
    }
    supervisor.instance = None;
    supervisor.failures += 1;
    supervisor.last_error = error.to_string();
    let wait = backoff(supervisor.failures);
    supervisor.retry_at = (!wait.is_zero()).then(|| Instant::now() + wait);
    supervisor.retry_at.map(|_| wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::limits::{BACKOFF_BASE, HostDefaults};

    /// An entry whose files failed to load: every start fails at once, with
    /// no wasm involved.
    fn broken() -> Arc<PluginEntry> {
        let limits = Limits::resolve(None, &HostDefaults::default());
        Arc::new(PluginEntry::failed(
            "p".into(),
            "p.wasm".into(),
            limits,
            "no such file".into(),
        ))
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    /// Scrapes that arrive while a collect is in flight share it: one call,
    /// one outcome; a scrape after it is done starts the next collect.
    #[tokio::test]
    async fn concurrent_scrapes_share_one_collect() {
        let runtime = Runtime::new().unwrap();
        let entry = broken();
        // Hold the supervisor so that the first collect stays in flight.
        let held = entry.supervisor.lock().await;
        let first = tokio::spawn({
            let (entry, runtime) = (Arc::clone(&entry), runtime.clone());
            async move { entry.collect_coalesced(&runtime, soon()).await }
        });
        // Wait until the first scrape has put its collect in flight.
        while lock(&entry.inflight).is_none() {
            tokio::task::yield_now().await;
        }
        let second = tokio::spawn({
            let (entry, runtime) = (Arc::clone(&entry), runtime.clone());
            async move { entry.collect_coalesced(&runtime, soon()).await }
        });
        tokio::task::yield_now().await;
        drop(held);
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        assert!(Arc::ptr_eq(&first, &second), "two collects ran");
        assert_eq!(first.id, 1);
        let third = entry.collect_coalesced(&runtime, soon()).await;
        assert_eq!(third.id, 2, "a scrape after the collect starts a new one");
        assert!(
            lock(&entry.inflight).is_none(),
            "the finished collect is kept"
        );
    }

    /// A plugin that keeps failing is retried at once the first time, then
    /// backs off (doubling): a collect in the backoff makes no attempt.
    #[tokio::test]
    async fn a_plugin_that_keeps_failing_backs_off() {
        let runtime = Runtime::new().unwrap();
        let entry = broken();
        let first = entry.collect(&runtime, soon()).await;
        assert!(
            matches!(first.result, Err(PluginError::Load(_))),
            "{first:?}"
        );
        assert_eq!(
            first.next_attempt, None,
            "the first failure retries at once"
        );
        let second = entry.collect(&runtime, soon()).await;
        assert!(
            matches!(second.result, Err(PluginError::Load(_))),
            "{second:?}"
        );
        assert_eq!(second.next_attempt, Some(BACKOFF_BASE));
        let third = entry.collect(&runtime, soon()).await;
        match third.result {
            Err(PluginError::Backoff { seconds, last }) => {
                assert_eq!(seconds, BACKOFF_BASE.as_secs());
                assert_eq!(last, "no such file");
            }
            other => panic!("expected a backoff, got {other:?}"),
        }
        assert_eq!(third.next_attempt, None, "a backoff extends nothing");
        assert_eq!(entry.supervisor.lock().await.failures, 2);
    }
}
