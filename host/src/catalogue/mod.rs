//! The plugin catalogue: every `NAME.wasm` in the plugins directory with its
//! optional `NAME.yml`, compiled once, and the catalogue in force, swapped
//! whole on reload.
//!
//! Rooms: this file (scan, load, reload and the swap), [`plugin`] (one
//! plugin's supervisor and its collect), [`outcome`] (what a collect gave),
//! [`status`] (what the host last saw of a plugin).

pub mod outcome;
pub mod plugin;
pub mod probe;
pub mod status;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::config::{HostDefaults, InstanceSpec, Limits, LimitsSpec, Manifest};
use crate::exposition::model::LabelValue;
use crate::exposition::validate;
use crate::runtime::Runtime;
use crate::runtime::contract::PluginPre;
use crate::runtime::dirs::DirGrants;
use crate::runtime::fetch::{FetchContext, Grants};
use crate::secrets;
pub use outcome::Outcome;
pub use plugin::PluginEntry;
pub use probe::{ProbeError, ProbeOutcome, ProbeRequest, ProbeStats};
pub use status::Status;

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

/// The plugins of one directory: the catalogue in force, and how to load
/// it again.
pub struct Plugins {
    runtime: Runtime,
    dir: PathBuf,
    defaults: HostDefaults,
    current: RwLock<Arc<Catalogue>>,
}

impl Plugins {
    /// Loads every plugin of `dir` (blocking: it compiles).
    pub fn load(
        runtime: Runtime,
        dir: &Path,
        defaults: HostDefaults,
    ) -> Result<Self, CatalogueError> {
        let catalogue = Catalogue::load(&runtime, dir, &defaults)?;
        Ok(Plugins {
            runtime,
            dir: dir.to_owned(),
            defaults,
            current: RwLock::new(Arc::new(catalogue)),
        })
    }

    /// The catalogue in force. A scrape holds on to the one it started
    /// with, so it never sees half of a reload.
    pub fn current(&self) -> Arc<Catalogue> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The runtime plugins run in.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The plugins directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Loads the directory again and puts the result in force (see
    /// [`Catalogue::reload`]).
    pub async fn reload(&self) -> Result<ReloadReport, CatalogueError> {
        let current = self.current();
        let (catalogue, report) = current
            .reload(&self.runtime, &self.dir, &self.defaults)
            .await?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(catalogue);
        Ok(report)
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

impl Catalogue {
    /// Loads every `*.wasm` in `dir`. A plugin whose files are broken is kept
    /// as a failed entry (reported down) and logged; only an unreadable
    /// directory is an error.
    pub fn load(
        runtime: &Runtime,
        dir: &Path,
        defaults: &HostDefaults,
    ) -> Result<Self, CatalogueError> {
        let files = scan(dir)?;
        let mut plugins: Vec<Arc<PluginEntry>> = Vec::new();
        for entries in load_files(runtime, &files, defaults) {
            push_unique(&mut plugins, entries.into_iter().map(Arc::new).collect());
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
                .map_err(|e| format!("loading {} failed: {e}", path.display()));
            let chosen = choose(runtime, path, old, fresh, &mut report).await;
            push_unique(&mut plugins, chosen);
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

/// Which entries serve `path` after a reload: the `fresh` ones if they load
/// and start, else the `old` ones. Every failure to load a changed file
/// (a bad file, a failed `init`, even a panic in the loader) keeps the old
/// version serving; a new file that fails is served as a failed entry.
async fn choose(
    runtime: &Runtime,
    path: &Path,
    old: Vec<Arc<PluginEntry>>,
    fresh: Result<Vec<PluginEntry>, String>,
    report: &mut ReloadReport,
) -> Vec<Arc<PluginEntry>> {
    let entries = match fresh {
        Ok(entries) => entries,
        Err(error) => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let limits = Limits::resolve(&LimitsSpec::default(), &HostDefaults::default());
            let failed =
                PluginEntry::failed(stem.clone().into(), path.to_owned(), limits, error.clone());
            return keep_old(path, old, vec![failed], stem, error, report);
        }
    };
    for entry in &entries {
        if let Err(e) = entry.prime(runtime).await {
            let name = entry.name.to_string();
            return keep_old(path, old, entries, name, e.to_string(), report);
        }
    }
    let names = entries.iter().map(|e| e.name.to_string());
    if old.is_empty() {
        tracing::info!(file = %path.display(), "plugin added");
        report.added.extend(names);
    } else {
        tracing::info!(file = %path.display(), "plugin replaced");
        report.replaced.extend(names);
    }
    entries.into_iter().map(Arc::new).collect()
}

/// After a failed load of `path`: the old entries if there are any, else
/// the failed new ones; the failure is counted and reported either way.
fn keep_old(
    path: &Path,
    old: Vec<Arc<PluginEntry>>,
    fresh: Vec<PluginEntry>,
    name: String,
    error: String,
    report: &mut ReloadReport,
) -> Vec<Arc<PluginEntry>> {
    let kept = if old.is_empty() {
        tracing::error!(plugin = %name, file = %path.display(), "new plugin failed to start: {error}");
        fresh.into_iter().map(Arc::new).collect()
    } else {
        tracing::error!(plugin = %name, file = %path.display(), "reload failed, the old version keeps serving: {error}");
        old
    };
    for entry in &kept {
        entry.count_failed_reload();
    }
    report.failed.push((name, error));
    kept
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

/// Hash of a plugin's `.wasm` and `NAME.yml` contents, as read, and of the
/// files its `config_files` name, so that a changed secret reloads it.
fn fingerprint_of(path: &Path, wasm: Option<&Vec<u8>>, yml: Option<&Vec<u8>>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    wasm.hash(&mut h);
    yml.hash(&mut h);
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let base = path.parent().unwrap_or(Path::new("."));
    let manifest = yml.and_then(|y| Manifest::parse(&String::from_utf8_lossy(y)).ok());
    let specs = manifest
        .zip(stem)
        .and_then(|(m, stem)| m.instances(&stem).ok())
        .unwrap_or_default();
    for (_, spec) in &specs {
        for file in secrets::files(spec, base) {
            std::fs::read(file).ok().hash(&mut h);
        }
    }
    h.finish()
}

/// Hash of a plugin's `.wasm`, `NAME.yml` and secret files on disk.
fn fingerprint(wasm: &Path) -> u64 {
    let yml = manifest_path(wasm).and_then(|p| std::fs::read(p).ok());
    fingerprint_of(wasm, std::fs::read(wasm).ok().as_ref(), yml.as_ref())
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

fn manifest_path(wasm: &Path) -> Option<PathBuf> {
    ["yml", "yaml"]
        .iter()
        .map(|ext| wasm.with_extension(ext))
        .find(|p| p.is_file())
}

/// The entries of `wasm` configured by `manifest` (not necessarily beside
/// it), as the directory loader makes them: for `wasm_exporter check`.
pub fn load_plugin(
    runtime: &Runtime,
    wasm: &Path,
    manifest: Option<&Path>,
    defaults: &HostDefaults,
) -> Vec<PluginEntry> {
    let bytes = std::fs::read(wasm);
    load_read(
        runtime,
        wasm,
        defaults,
        bytes,
        manifest.map(|m| (m, std::fs::read(m))),
    )
}

/// The entries of every file in `files`, in their order, compiled on as
/// many threads as there are cores (a cold start with several plugins is
/// Cranelift's time; each file's compilation is independent). A loader
/// that panics gives that file a failed entry, as a bad file does.
fn load_files(
    runtime: &Runtime,
    files: &[PathBuf],
    defaults: &HostDefaults,
) -> Vec<Vec<PluginEntry>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len());
    if workers <= 1 {
        return files
            .iter()
            .map(|p| load_file(runtime, p, defaults))
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut loaded: Vec<(usize, Vec<PluginEntry>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break mine };
                        let entries =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                load_file(runtime, path, defaults)
                            }))
                            .unwrap_or_else(|_| vec![panicked(path, defaults)]);
                        mine.push((i, entries));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    loaded.sort_by_key(|(i, _)| *i);
    loaded.into_iter().map(|(_, entries)| entries).collect()
}

/// The failed entry of a file whose loader panicked.
fn panicked(path: &Path, defaults: &HostDefaults) -> PluginEntry {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let error = format!("loading {} panicked", path.display());
    tracing::error!(plugin = %stem, file = %path.display(), "plugin not loaded: {error}");
    let limits = Limits::resolve(&LimitsSpec::default(), defaults);
    PluginEntry::failed(stem.into(), path.to_owned(), limits, error)
}

/// The entries of one `.wasm`: one per instance, sharing one compilation.
fn load_file(runtime: &Runtime, path: &Path, defaults: &HostDefaults) -> Vec<PluginEntry> {
    // Each file is read once: for the fingerprint, the manifest and the
    // compilation alike.
    let wasm = std::fs::read(path);
    let manifest_file = manifest_path(path);
    let yml = manifest_file.as_deref().map(std::fs::read);
    let print = fingerprint_of(
        path,
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
        contract = pre.version().as_str(),
        instances = instances.len(),
        "plugin loaded"
    );
    // `config_files` are relative to the manifest (beside the .wasm, except
    // for `wasm_exporter check --config`).
    let base = manifest_file
        .as_deref()
        .unwrap_or(path)
        .parent()
        .unwrap_or(Path::new("."));
    instances
        .into_iter()
        .map(|(name, spec)| instance_entry(&yml, path, base, name, &spec, defaults, pre.clone()))
        .collect()
}

fn instance_entry(
    yml: &str,
    path: &Path,
    base: &Path,
    name: String,
    spec: &InstanceSpec,
    defaults: &HostDefaults,
    pre: PluginPre,
) -> PluginEntry {
    let limits = Limits::resolve(&spec.limits.clone().unwrap_or_default(), defaults);
    let checked = Grants::parse(&spec.grants.fetch).and_then(|grants| {
        let dirs = DirGrants::parse(&spec.grants.dirs)?;
        for label in spec.labels.keys() {
            validate::check_label_name(label, limits.max_label_name_length)
                .map_err(|(_, why)| format!("label name {label:?} is not valid: {why}"))?;
        }
        let config = secrets::config_json(spec, base).map_err(|e| e.to_string())?;
        Ok((grants, dirs, config))
    });
    let (grants, dirs, config_json) = match checked {
        Ok(g) => g,
        Err(e) => {
            let error = format!("{yml}: instance {name}: {e}");
            tracing::error!(plugin = %name, file = %path.display(), "plugin not loaded: {error}");
            return PluginEntry::failed(name.into(), path.to_owned(), limits, error);
        }
    };
    let mut entry = PluginEntry::new(name.into(), path.to_owned(), limits, Ok(pre));
    entry.config_json = config_json;
    entry.dirs = dirs;
    entry.enabled = spec.enabled.unwrap_or(true);
    entry.const_labels = spec
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), LabelValue::from(v.as_str())))
        .collect();
    entry.fetch = FetchContext {
        grants: Arc::new(grants),
        max_response_bytes: limits.max_response_bytes,
        stats: Default::default(),
        idle: Default::default(),
    };
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Arc<PluginEntry> {
        let limits = Limits::resolve(&LimitsSpec::default(), &HostDefaults::default());
        Arc::new(PluginEntry::failed(
            name.into(),
            "a.wasm".into(),
            limits,
            "old".into(),
        ))
    }

    #[tokio::test]
    async fn a_loader_that_panicked_keeps_the_old_version_serving() {
        let runtime = Runtime::new().unwrap();
        let old = vec![entry("a")];
        let mut report = ReloadReport::default();
        let kept = choose(
            &runtime,
            Path::new("a.wasm"),
            old.clone(),
            Err("loading a.wasm failed: task panicked".into()),
            &mut report,
        )
        .await;
        assert_eq!(kept.len(), 1);
        assert!(Arc::ptr_eq(&kept[0], &old[0]), "the old entry was replaced");
        assert!(report.replaced.is_empty(), "{report}");
        assert_eq!(
            report.failed,
            [(
                "a".to_owned(),
                "loading a.wasm failed: task panicked".to_owned()
            )]
        );
        assert_eq!(kept[0].status().failed_reloads, 1);
    }

    #[tokio::test]
    async fn a_new_file_whose_loader_panicked_is_served_down() {
        let runtime = Runtime::new().unwrap();
        let mut report = ReloadReport::default();
        let kept = choose(
            &runtime,
            Path::new("b.wasm"),
            vec![],
            Err("boom".into()),
            &mut report,
        )
        .await;
        assert_eq!(kept.len(), 1);
        assert_eq!(&*kept[0].name, "b");
        assert_eq!(report.failed, [("b".to_owned(), "boom".to_owned())]);
    }
}
