//! The plugin catalogue: every `NAME.wasm` in the plugins directory with its
//! optional `NAME.yml`, compiled once, instantiated on demand, and the status
//! the self-metrics and landing page report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::{HostDefaults, InstanceSpec, Limits, LimitsSpec, Manifest};
use crate::exposition::model::{Family, LabelValue};
use crate::exposition::validate::{self, Invalid};
use crate::runtime::bindings::PluginPre;
use crate::runtime::fetch::{FetchContext, Grants};
use crate::runtime::state::StoreState;
use crate::runtime::{Instance, Metadata, PluginError, Runtime};

/// Every `reason` of `wasm_exporter_plugin_errors_total`, so each plugin's
/// counters exist (at 0) from the start.
pub const ERROR_REASONS: &[&str] = &[
    "load",
    "instantiate",
    "init",
    "collect",
    "timeout",
    "memory",
    "trap",
    "too_many_series",
    "invalid_output",
    "name_clash",
    "fetch_denied",
    "fetch",
    "stderr_limit",
];

/// Errors that stop the catalogue from loading at all.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The plugins directory cannot be listed.
    #[error("reading plugins directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What the host last saw of a plugin.
#[derive(Debug, Clone, Default)]
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
    /// The last error, if the last collect failed or dropped families.
    pub last_error: Option<String>,
    /// Error counts by reason.
    pub errors: BTreeMap<&'static str, u64>,
    /// Failed collects in a row that discarded the instance.
    pub consecutive_failures: u32,
    /// No new instance is tried before this time.
    pub retry_at: Option<Instant>,
    /// The last collect whose clashes were counted.
    clashes_counted_for: u64,
    /// Families the last collect's validation dropped.
    last_invalid: usize,
    /// The last collect that produced data.
    ok_collect: u64,
    /// Down because everything it returned clashed with other sources.
    clash_down: bool,
}

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
    /// Labels added to every series, sorted by name.
    pub const_labels: Vec<(String, String)>,
    config_json: String,
    fetch: FetchContext,
    pre: Result<PluginPre<StoreState>, PluginError>,
    slot: tokio::sync::Mutex<Option<Instance>>,
    status: Mutex<Status>,
    /// The collect in flight, which concurrent scrapes join.
    inflight: Mutex<Option<InFlight>>,
    collects: std::sync::atomic::AtomicU64,
}

type InFlight = futures::future::Shared<futures::future::BoxFuture<'static, Arc<Collected>>>;

/// First wait after the second failure in a row; it doubles with each
/// further failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest wait between attempts at a plugin that keeps failing.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// The wait before the next attempt after `failures` failures in a row.
pub fn backoff(failures: u32) -> Duration {
    if failures < 2 {
        return Duration::ZERO;
    }
    let exp = (failures - 2).min(16);
    BACKOFF_BASE.saturating_mul(1 << exp).min(BACKOFF_MAX)
}

/// The result of collecting one plugin, validated. Shared by every scrape
/// that arrived while it ran.
#[derive(Clone)]
pub struct Collected {
    /// Sequence number of the collect, per plugin.
    pub id: u64,
    /// Valid families, or why there are none.
    pub result: Result<Vec<Family>, PluginError>,
    /// Families dropped by validation.
    pub invalid: Vec<Invalid>,
    /// Time taken.
    pub duration: Duration,
}

/// Problems on one log line.
fn join<T: std::fmt::Display>(problems: &[T]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn lock(m: &Mutex<Status>) -> MutexGuard<'_, Status> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PluginEntry {
    /// An entry whose files failed to load: always down, with this error.
    fn failed(name: Arc<str>, wasm_path: PathBuf, limits: Limits, error: String) -> Self {
        Self::new(name, wasm_path, limits, Err(PluginError::Load(error)))
    }

    fn new(
        name: Arc<str>,
        wasm_path: PathBuf,
        limits: Limits,
        pre: Result<PluginPre<StoreState>, PluginError>,
    ) -> Self {
        let errors = ERROR_REASONS.iter().map(|r| (*r, 0)).collect();
        PluginEntry {
            fingerprint: 0,
            name,
            wasm_path,
            limits,
            const_labels: Vec::new(),
            config_json: "{}".to_owned(),
            fetch: FetchContext::deny_all(),
            pre,
            slot: tokio::sync::Mutex::new(None),
            inflight: Mutex::new(None),
            collects: std::sync::atomic::AtomicU64::new(0),
            status: Mutex::new(Status {
                errors,
                ..Status::default()
            }),
        }
    }

    /// A copy of the current status, fetch failures included.
    pub fn status(&self) -> Status {
        let mut status = lock(&self.status).clone();
        let fetch = self.fetch.stats.lock().unwrap_or_else(|p| p.into_inner());
        status.errors.insert("fetch_denied", fetch.denied);
        status.errors.insert("fetch", fetch.failed);
        status
    }

    /// Adds the instance's constant labels in front of every family's own.
    fn add_const_labels(&self, families: &mut [Family]) {
        if self.const_labels.is_empty() {
            return;
        }
        for family in families {
            let mut names: Vec<String> = self.const_labels.iter().map(|(n, _)| n.clone()).collect();
            names.append(&mut family.label_names);
            family.label_names = names;
            for series in Arc::make_mut(&mut family.series) {
                let mut values: Vec<LabelValue> = self
                    .const_labels
                    .iter()
                    .map(|(_, v)| LabelValue::from(v.as_str()))
                    .collect();
                values.append(&mut series.label_values);
                series.label_values = values;
            }
        }
    }

    /// Collects once for every scrape that asks while a collect is in
    /// flight: the first caller starts it (bounded by its `deadline`), later
    /// ones share its result. No double work, no overlapping calls.
    pub async fn collect_coalesced(
        self: &Arc<Self>,
        runtime: &Runtime,
        deadline: Instant,
    ) -> Arc<Collected> {
        use futures::FutureExt as _;
        let shared = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            match inflight.as_ref() {
                Some(f) if f.peek().is_none() => f.clone(),
                _ => {
                    let me = Arc::clone(self);
                    let runtime = runtime.clone();
                    let fut = async move {
                        let collected = me.collect(&runtime, deadline).await;
                        me.record_collect(&collected);
                        Arc::new(collected)
                    }
                    .boxed()
                    .shared();
                    *inflight = Some(fut.clone());
                    fut
                }
            }
        };
        let collected = shared.await;
        // Once done, the slot's handle would keep a reference to the result
        // alive until the next collect, and every scrape would have to copy
        // it; drop it so that the last scrape to finish can take it.
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if inflight
            .as_ref()
            .and_then(|f| f.peek())
            .is_some_and(|done| Arc::ptr_eq(done, &collected))
        {
            *inflight = None;
        }
        collected
    }

    /// Collects and validates, finishing by `deadline`. A missing instance
    /// (first call, or after a failure) is instantiated and initialised
    /// first; a failure that poisons the instance discards it.
    pub async fn collect(&self, runtime: &Runtime, deadline: Instant) -> Collected {
        let id = self
            .collects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let start = Instant::now();
        let result = self.collect_raw(runtime, deadline).await;
        let duration = start.elapsed();
        let limits = validate::Limits {
            max_label_value_length: self.limits.max_label_value_length,
            max_label_name_length: self.limits.max_label_name_length,
        };
        let mut invalid = Vec::new();
        let result = result.map(|converted| {
            let mut families: Vec<Family> = converted
                .into_iter()
                .filter_map(|f| f.map_err(|e| invalid.push(e)).ok())
                .collect();
            self.add_const_labels(&mut families);
            families
                .into_iter()
                .filter_map(|mut family| match validate::validate(&mut family, limits) {
                    Ok(()) => Some(family),
                    Err(e) => {
                        invalid.push(e);
                        None
                    }
                })
                .collect()
        });
        Collected {
            id,
            result,
            invalid,
            duration,
        }
    }

    async fn collect_raw(
        &self,
        runtime: &Runtime,
        deadline: Instant,
    ) -> Result<Vec<Result<Family, Invalid>>, PluginError> {
        let pre = self.pre.as_ref().map_err(Clone::clone)?;
        let wait = tokio::time::Instant::from_std(deadline);
        let backing_off = {
            let status = lock(&self.status);
            status.retry_at.filter(|at| *at > Instant::now()).map(|at| {
                let last = status.last_error.clone().unwrap_or_default();
                (at - Instant::now(), last)
            })
        };
        let Ok(mut slot) = tokio::time::timeout_at(wait, self.slot.lock()).await else {
            return Err(PluginError::Timeout(self.limits.timeout));
        };
        if slot.is_none()
            && let Some((wait, last)) = backing_off
        {
            return Err(PluginError::Backoff {
                seconds: wait.as_secs_f64().ceil() as u64,
                last,
            });
        }
        let result = async {
            if slot.is_none() {
                let fetch = self.fetch.clone();
                let name = self.name.clone();
                let mut instance =
                    Instance::instantiate(runtime, pre, name, self.limits, fetch, deadline).await?;
                let metadata = instance.metadata(deadline).await?;
                lock(&self.status).metadata = Some(metadata);
                instance.init(&self.config_json, deadline).await?;
                *slot = Some(instance);
            }
            match slot.as_mut() {
                Some(instance) => instance.collect(deadline).await,
                None => Err(PluginError::Instantiate("no instance".into())),
            }
        }
        .await;
        if let Err(e) = &result
            && e.discards_instance()
        {
            *slot = None;
        }
        result
    }

    /// Instantiates and initialises the plugin now, so that a reload can
    /// check a new version before it replaces the old one. The instance is
    /// kept for the next collect.
    pub async fn prime(&self, runtime: &Runtime) -> Result<(), PluginError> {
        let pre = self.pre.as_ref().map_err(Clone::clone)?;
        let deadline = Instant::now() + self.limits.timeout;
        let mut slot = self.slot.lock().await;
        let mut instance = Instance::instantiate(
            runtime,
            pre,
            self.name.clone(),
            self.limits,
            self.fetch.clone(),
            deadline,
        )
        .await?;
        let metadata = instance.metadata(deadline).await?;
        lock(&self.status).metadata = Some(metadata);
        instance.init(&self.config_json, deadline).await?;
        *slot = Some(instance);
        Ok(())
    }

    /// Records a collect's outcome, once per collect however many scrapes
    /// share it: up or down, error counts, backoff. Logs only when the
    /// plugin's state changes, not on every scrape.
    fn record_collect(&self, c: &Collected) {
        let mut status = lock(&self.status);
        let was_up = status.up || !status.collected;
        let previous_error = status.last_error.clone();
        status.collected = true;
        status.last_duration = c.duration;
        status.last_invalid = c.invalid.len();
        status.dropped_families = c.invalid.len();
        let plugin = &*self.name;
        match &c.result {
            Ok(valid) if valid.is_empty() && !c.invalid.is_empty() => {
                // Everything it returned was invalid: nothing to serve.
                status.up = false;
                status.series = 0;
                status.last_error = c.invalid.first().map(ToString::to_string);
                *status.errors.entry("invalid_output").or_default() += 1;
                if was_up || status.last_error != previous_error {
                    let problems = join(&c.invalid);
                    tracing::error!(
                        plugin,
                        reason = "invalid_output",
                        "plugin down: every family it returned is invalid: {problems}"
                    );
                }
            }
            Ok(_) => {
                status.ok_collect = c.id;
                status.up = !status.clash_down;
                status.consecutive_failures = 0;
                status.retry_at = None;
                status.last_error = c.invalid.first().map(ToString::to_string);
                if !c.invalid.is_empty() {
                    *status.errors.entry("invalid_output").or_default() += 1;
                    if status.last_error != previous_error {
                        let problems = join(&c.invalid);
                        tracing::warn!(
                            plugin,
                            reason = "invalid_output",
                            "dropped {} families: {problems}",
                            c.invalid.len()
                        );
                    }
                }
                if !was_up && !status.clash_down {
                    tracing::info!(plugin, "plugin up");
                }
            }
            Err(PluginError::Backoff { .. }) => {
                status.up = false;
                status.series = 0;
            }
            Err(e) => {
                status.up = false;
                status.series = 0;
                status.last_error = Some(e.to_string());
                *status.errors.entry(e.reason()).or_default() += 1;
                let was_backing_off = status.retry_at.is_some();
                if e.discards_instance() {
                    status.consecutive_failures += 1;
                    let wait = backoff(status.consecutive_failures);
                    status.retry_at = (!wait.is_zero()).then(|| Instant::now() + wait);
                }
                let retry = match status.retry_at {
                    Some(at) => format!(
                        " (next attempt in {:.0?})",
                        at.saturating_duration_since(Instant::now())
                    ),
                    None => String::new(),
                };
                if was_up {
                    tracing::error!(plugin, reason = e.reason(), "plugin down: {e}{retry}");
                } else if previous_error.as_deref() != Some(&e.to_string())
                    || (!was_backing_off && status.retry_at.is_some())
                {
                    tracing::error!(plugin, reason = e.reason(), "plugin still down: {e}{retry}");
                }
            }
        }
    }

    /// Records what one scrape's merge kept of collect `id`: the series
    /// served and the families dropped for clashing. A clash is counted
    /// once per collect, and logged once per change.
    pub fn record_merge(&self, id: u64, series: usize, clashes: &[String]) {
        let mut status = lock(&self.status);
        // Only the latest collect that produced data has a merge to record.
        if status.ok_collect != id {
            return;
        }
        status.series = series;
        status.dropped_families = status.last_invalid + clashes.len();
        let plugin = &*self.name;
        // Every family clashed with an earlier source's: nothing served.
        let clash_down = series == 0 && !clashes.is_empty();
        if clash_down != status.clash_down {
            status.clash_down = clash_down;
            status.up = !clash_down;
            if clash_down {
                tracing::error!(
                    plugin,
                    reason = "name_clash",
                    "plugin down: every family it returned clashes with another source's"
                );
            } else {
                tracing::info!(plugin, "plugin up");
            }
        }
        if !clashes.is_empty() && status.clashes_counted_for != id {
            status.clashes_counted_for = id;
            *status.errors.entry("name_clash").or_default() += 1;
            let first = clashes.first().cloned();
            if status.last_error != first {
                let problems = join(clashes);
                tracing::warn!(
                    plugin,
                    reason = "name_clash",
                    "dropped {} families: {problems}",
                    clashes.len()
                );
                status.last_error = first;
            }
        }
    }
}

/// All configured plugins, sorted by name.
pub struct Catalogue {
    /// The entries, sorted by name.
    pub plugins: Vec<Arc<PluginEntry>>,
}

/// What a reload did.
#[derive(Debug, Default)]
pub struct ReloadReport {
    /// Plugins added, replaced or removed, by instance name.
    pub added: Vec<String>,
    /// Plugins whose new version replaced the old one.
    pub replaced: Vec<String>,
    /// Plugins removed with their file.
    pub removed: Vec<String>,
    /// New versions that failed to compile or init, with the error; their
    /// old version (if any) keeps serving.
    pub failed: Vec<(String, String)>,
}

impl std::fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "added: {}", self.added.join(", "))?;
        writeln!(f, "replaced: {}", self.replaced.join(", "))?;
        writeln!(f, "removed: {}", self.removed.join(", "))?;
        for (plugin, error) in &self.failed {
            writeln!(f, "failed: {plugin}: {error}")?;
        }
        Ok(())
    }
}

/// The `.wasm` files of `dir`, sorted.
fn scan(dir: &Path) -> Result<Vec<PathBuf>, CatalogueError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CatalogueError::Dir {
        path: dir.to_owned(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Hash of a plugin's `.wasm` and `NAME.yml` contents, as read.
fn fingerprint_of(wasm: Option<&Vec<u8>>, yml: Option<&Vec<u8>>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    wasm.hash(&mut h);
    yml.hash(&mut h);
    h.finish()
}

/// Hash of a plugin's `.wasm` and `NAME.yml` contents on disk.
fn fingerprint(wasm: &Path) -> u64 {
    let yml = manifest_path(wasm).and_then(|p| std::fs::read(p).ok());
    fingerprint_of(std::fs::read(wasm).ok().as_ref(), yml.as_ref())
}

/// Adds `entries` to `plugins`, refusing a name that is already taken.
fn push_unique(plugins: &mut Vec<Arc<PluginEntry>>, entries: Vec<Arc<PluginEntry>>) {
    for entry in entries {
        if plugins.iter().any(|p| p.name == entry.name) {
            let path = entry.wasm_path.clone();
            let error = format!(
                "{}: instance name {:?} is already taken by another plugin",
                path.display(),
                &*entry.name
            );
            tracing::error!(plugin = &*entry.name, file = %path.display(), "plugin not loaded: {error}");
            let name = format!("{}@{}", entry.name, path.display());
            plugins.push(Arc::new(PluginEntry::failed(
                name.into(),
                path,
                entry.limits,
                error,
            )));
            continue;
        }
        plugins.push(entry);
    }
}

impl Catalogue {
    /// Loads every `*.wasm` in `dir`. A plugin whose files are broken is kept
    /// as a failed entry (reported down) and logged; only an unreadable
    /// directory is an error.
    pub fn load(
        runtime: &Runtime,
        dir: &Path,
        defaults: &HostDefaults,
    ) -> Result<Self, CatalogueError> {
        let mut plugins: Vec<Arc<PluginEntry>> = Vec::new();
        for path in scan(dir)? {
            let entries = load_file(runtime, &path, defaults)
                .into_iter()
                .map(Arc::new)
                .collect();
            push_unique(&mut plugins, entries);
        }
        plugins.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Catalogue { plugins })
    }

    /// A new catalogue for the current contents of `dir`: unchanged plugins
    /// are kept as they are (instance and state included); a new or changed
    /// one is compiled and initialised first, and replaces the old version
    /// only if that worked; a removed one is gone.
    pub async fn reload(
        &self,
        runtime: &Runtime,
        dir: &Path,
        defaults: &HostDefaults,
    ) -> Result<(Self, ReloadReport), CatalogueError> {
        let files = scan(dir)?;
        let mut report = ReloadReport::default();
        let mut plugins: Vec<Arc<PluginEntry>> = Vec::new();
        for path in &files {
            let old: Vec<Arc<PluginEntry>> = self
                .plugins
                .iter()
                .filter(|p| &p.wasm_path == path)
                .cloned()
                .collect();
            let current = fingerprint(path);
            if !old.is_empty() && old.iter().all(|p| p.fingerprint == current) {
                push_unique(&mut plugins, old);
                continue;
            }
            let (rt, p, d) = (runtime.clone(), path.clone(), *defaults);
            let fresh = tokio::task::spawn_blocking(move || load_file(&rt, &p, &d))
                .await
                .unwrap_or_default();
            let mut failure = None;
            for entry in &fresh {
                if let Err(e) = entry.prime(runtime).await {
                    failure = Some((entry.name.to_string(), e.to_string()));
                    break;
                }
            }
            let names: Vec<String> = fresh.iter().map(|e| e.name.to_string()).collect();
            match failure {
                Some((name, error)) if !old.is_empty() => {
                    tracing::error!(plugin = %name, file = %path.display(), "reload failed, the old version keeps serving: {error}");
                    report.failed.push((name, error));
                    push_unique(&mut plugins, old);
                }
                Some((name, error)) => {
                    tracing::error!(plugin = %name, file = %path.display(), "new plugin failed to start: {error}");
                    report.failed.push((name, error));
                    push_unique(&mut plugins, fresh.into_iter().map(Arc::new).collect());
                }
                None => {
                    if old.is_empty() {
                        tracing::info!(file = %path.display(), "plugin added");
                        report.added.extend(names);
                    } else {
                        tracing::info!(file = %path.display(), "plugin replaced");
                        report.replaced.extend(names);
                    }
                    push_unique(&mut plugins, fresh.into_iter().map(Arc::new).collect());
                }
            }
        }
        for gone in self
            .plugins
            .iter()
            .filter(|p| !files.contains(&p.wasm_path))
        {
            tracing::info!(plugin = &*gone.name, file = %gone.wasm_path.display(), "plugin removed");
            report.removed.push(gone.name.to_string());
        }
        plugins.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((Catalogue { plugins }, report))
    }
}

fn manifest_path(wasm: &Path) -> Option<PathBuf> {
    ["yml", "yaml"]
        .iter()
        .map(|ext| wasm.with_extension(ext))
        .find(|p| p.is_file())
}

/// The entries of one `.wasm`: one per instance, sharing one compilation.
fn load_file(runtime: &Runtime, path: &Path, defaults: &HostDefaults) -> Vec<PluginEntry> {
    // Each file is read once: for the fingerprint, the manifest and the
    // compilation alike.
    let wasm = std::fs::read(path);
    let manifest_file = manifest_path(path);
    let yml = manifest_file.as_deref().map(std::fs::read);
    let print = fingerprint_of(
        wasm.as_ref().ok(),
        yml.as_ref().and_then(|r| r.as_ref().ok()),
    );
    let mut entries = load_read(
        runtime,
        path,
        defaults,
        wasm,
        manifest_file.as_deref().zip(yml),
    );
    for entry in &mut entries {
        entry.fingerprint = print;
    }
    entries
}

fn load_read(
    runtime: &Runtime,
    path: &Path,
    defaults: &HostDefaults,
    wasm: std::io::Result<Vec<u8>>,
    yml: Option<(&Path, std::io::Result<Vec<u8>>)>,
) -> Vec<PluginEntry> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let default_limits = Limits::resolve(&LimitsSpec::default(), defaults);
    let manifest_file = yml.as_ref().map(|(p, _)| p.to_path_buf());
    let failed = |error: String| {
        tracing::error!(plugin = %stem, file = %path.display(), "plugin not loaded: {error}");
        vec![PluginEntry::failed(
            stem.clone().into(),
            path.to_owned(),
            default_limits,
            error,
        )]
    };
    let manifest = match yml.map(|(p, read)| Manifest::from_read(p, read)) {
        None => Manifest::default(),
        Some(Ok(m)) => m,
        Some(Err(e)) => return failed(e.to_string()),
    };
    let yml = manifest_file
        .as_deref()
        .unwrap_or(path)
        .display()
        .to_string();
    let instances = match manifest.instances(&stem) {
        Ok(i) => i,
        Err(e) => return failed(format!("{yml}: {e}")),
    };
    let started = Instant::now();
    let pre = wasm
        .map_err(|e| format!("reading {}: {e}", path.display()))
        .and_then(|bytes| {
            runtime
                .prepare(&bytes)
                .map_err(|e| format!("{}: {e}", path.display()))
        });
    let (pre, cache) = match pre {
        Ok(pre) => pre,
        Err(e) => return failed(e),
    };
    tracing::info!(
        plugin = %stem,
        file = %path.display(),
        compile_ms = started.elapsed().as_millis() as u64,
        cache = cache.as_str(),
        instances = instances.len(),
        "plugin loaded"
    );
    instances
        .into_iter()
        .map(|(name, spec)| instance_entry(&yml, path, name, &spec, defaults, pre.clone()))
        .collect()
}

fn instance_entry(
    yml: &str,
    path: &Path,
    name: String,
    spec: &InstanceSpec,
    defaults: &HostDefaults,
    pre: PluginPre<StoreState>,
) -> PluginEntry {
    let limits = Limits::resolve(&spec.limits.clone().unwrap_or_default(), defaults);
    let checked = Grants::parse(&spec.grants.fetch).and_then(|grants| {
        for label in spec.labels.keys() {
            if !validate::is_label_name(label) || label.starts_with("__") {
                return Err(format!("label name {label:?} is not valid"));
            }
        }
        Ok(grants)
    });
    let grants = match checked {
        Ok(g) => g,
        Err(e) => {
            let error = format!("{yml}: instance {name}: {e}");
            tracing::error!(plugin = %name, file = %path.display(), "plugin not loaded: {error}");
            return PluginEntry::failed(name.into(), path.to_owned(), limits, error);
        }
    };
    let mut entry = PluginEntry::new(name.into(), path.to_owned(), limits, Ok(pre));
    entry.config_json = spec.config_json();
    entry.const_labels = spec
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    entry.fetch = FetchContext {
        grants: Arc::new(grants),
        max_response_bytes: limits.max_response_bytes,
        stats: Default::default(),
        idle: Default::default(),
    };
    entry
}
