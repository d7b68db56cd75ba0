//! The plugin catalogue: every `NAME.wasm` in the plugins directory with its
//! optional `NAME.yml`, compiled once, and the catalogue in force, swapped
//! whole on reload.
//!
//! Rooms: this file (the catalogue in force, reload and the swap), `load`
//! (scan, fingerprints, load, instance entries), [`plugin`] (one plugin's
//! supervisor and its collect), [`probe`] (one module's probe instances),
//! [`outcome`] (what a collect gave).

mod load;
pub mod outcome;
pub mod plugin;
pub mod probe;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::runtime::Runtime;
use crate::runtime::limits::HostDefaults;
pub use load::load_plugin;
use load::{failed_file, fingerprint, load_file, load_files, push_unique, scan};
pub use outcome::Outcome;
pub use plugin::PluginEntry;
pub use probe::{ProbeError, ProbeOutcome, ProbeRequest};

/// Errors that stop the catalogue from loading at all.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The plugins directory cannot be listed.
    #[error("reading plugins directory {path}: {error}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
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
    /// The old version's instances that keep serving after such a failure,
    /// with the error: each counts a failed reload (a new file that fails
    /// is down with its load error, and no reload of it failed).
    pub failed_instances: Vec<(String, String)>,
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
    /// The catalogue of `plugins`, put in name order (the order merges and
    /// pages follow).
    fn sorted(mut plugins: Vec<Arc<PluginEntry>>) -> Self {
        plugins.sort_by(|a, b| a.name.cmp(&b.name));
        Catalogue { plugins }
    }

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
        Ok(Catalogue::sorted(plugins))
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
            let chosen = choose(runtime, path, old, fresh, defaults, &mut report).await;
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
        Ok((Catalogue::sorted(plugins), report))
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
    defaults: &HostDefaults,
    report: &mut ReloadReport,
) -> Vec<Arc<PluginEntry>> {
    let entries = match fresh {
        Ok(entries) => entries,
        Err(error) => {
            let failed = failed_file(path, defaults, error.clone());
            let name = failed.name.to_string();
            return keep_old(path, old, vec![failed], name, error, report);
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

/// After a failed load of `path`: the old entries if there are any (each
/// counts a failed reload), else the failed new ones (down with their load
/// error); the failure is reported either way.
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
        report
            .failed_instances
            .extend(old.iter().map(|e| (e.name.to_string(), error.clone())));
        old
    };
    report.failed.push((name, error));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::limits::Limits;
    use std::time::Duration;

    fn entry(name: &str) -> Arc<PluginEntry> {
        let limits = Limits::resolve(None, &HostDefaults::default());
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
            &HostDefaults::default(),
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
        assert_eq!(
            report.failed_instances,
            [(
                "a".to_owned(),
                "loading a.wasm failed: task panicked".to_owned()
            )]
        );
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
            &HostDefaults::default(),
            &mut report,
        )
        .await;
        assert_eq!(kept.len(), 1);
        assert_eq!(&*kept[0].name, "b");
        assert_eq!(report.failed, [("b".to_owned(), "boom".to_owned())]);
        // A new file that fails is down with its load error; no reload of
        // it failed.
        assert!(report.failed_instances.is_empty());
    }

    /// A new file whose loader failed on reload is served down with the
    /// limits the flags give, not the built-in defaults.
    #[tokio::test]
    async fn a_new_file_that_failed_on_reload_gets_the_flags_limits() {
        let runtime = Runtime::new().unwrap();
        let flags = HostDefaults {
            memory: 3 << 20,
            timeout: Duration::from_millis(1500),
        };
        let mut report = ReloadReport::default();
        let kept = choose(
            &runtime,
            Path::new("c.wasm"),
            vec![],
            Err("boom".into()),
            &flags,
            &mut report,
        )
        .await;
        assert_eq!(kept[0].limits, Limits::resolve(None, &flags));
        assert_eq!(kept[0].limits.memory, 3 << 20);
        assert_eq!(kept[0].limits.timeout, Duration::from_millis(1500));
    }
}
