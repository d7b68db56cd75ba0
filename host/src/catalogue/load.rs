//! Loading a directory's plugins: scan for `NAME.wasm`, read each with its
//! `NAME.yml` once, fingerprint them (to tell a changed plugin on reload),
//! compile on one thread per core, and make one entry per instance. A file
//! that fails at any step becomes a failed entry, served down with its
//! error; only an unreadable directory stops a load.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::{CatalogueError, PluginEntry};
use crate::config::{InstanceSpec, Manifest};
use crate::exposition::model::LabelValue;
use crate::exposition::validate;
use crate::runtime::Runtime;
use crate::runtime::contract::PluginPre;
use crate::runtime::dirs::DirGrants;
use crate::runtime::fetch::{FetchContext, Grants};
use crate::runtime::limits::{HostDefaults, Limits};
use crate::secrets;

/// The `.wasm` files of `dir`, sorted.
pub(super) fn scan(dir: &Path) -> Result<Vec<PathBuf>, CatalogueError> {
    let entries = std::fs::read_dir(dir).map_err(|error| CatalogueError::Dir {
        path: dir.to_owned(),
        error,
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
pub(super) fn fingerprint(wasm: &Path) -> u64 {
    let yml = manifest_path(wasm).and_then(|p| std::fs::read(p).ok());
    fingerprint_of(wasm, std::fs::read(wasm).ok().as_ref(), yml.as_ref())
}

/// Adds `entries` to `plugins`, refusing a name that is already taken.
pub(super) fn push_unique(plugins: &mut Vec<Arc<PluginEntry>>, entries: Vec<Arc<PluginEntry>>) {
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
pub(super) fn load_files(
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
    let error = format!("loading {} panicked", path.display());
    tracing::error!(plugin = %stem(path), file = %path.display(), "plugin not loaded: {error}");
    failed_file(path, defaults, error)
}

/// The name of the single instance of `path`: its file stem.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The entry of a file that failed to load, named after the file, with
/// the limits the flags give a plugin that sets none: served down with
/// `error`. The one constructor of a failed file's entry.
pub(super) fn failed_file(path: &Path, defaults: &HostDefaults, error: String) -> PluginEntry {
    let limits = Limits::resolve(None, defaults);
    PluginEntry::failed(stem(path).into(), path.to_owned(), limits, error)
}

/// The entries of one `.wasm`: one per instance, sharing one compilation.
pub(super) fn load_file(
    runtime: &Runtime,
    path: &Path,
    defaults: &HostDefaults,
) -> Vec<PluginEntry> {
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
    let stem = stem(path);
    let manifest_file = yml.as_ref().map(|(p, _)| p.to_path_buf());
    let failed = |error: String| {
        tracing::error!(plugin = %stem, file = %path.display(), "plugin not loaded: {error}");
        vec![failed_file(path, defaults, error)]
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
    let limits = Limits::resolve(spec.limits.as_ref(), defaults);
    if let Some(asked) = spec
        .limits
        .as_ref()
        .and_then(|l| l.timeout)
        .filter(|t| *t > defaults.timeout)
    {
        tracing::warn!(
            plugin = %name,
            file = %path.display(),
            "limits.timeout {asked:?} is over --plugins.timeout {:?}, the ceiling; {:?} applies",
            defaults.timeout,
            limits.timeout
        );
    }
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
        standins: Default::default(),
    };
    entry
}
