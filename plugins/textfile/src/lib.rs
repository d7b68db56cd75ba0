//! `textfile`: metrics that batch jobs and cron scripts write to `*.prom`
//! files, served as node_exporter's textfile collector serves them.
//!
//! On every collect it lists each configured directory (Go glob patterns
//! allowed), reads every `*.prom` file in name order with Prometheus' text
//! format rules ([`parse`]), and merges the files' families ([`merge`]). A
//! file that does not parse, carries client-side timestamps, or cannot be
//! read is skipped whole; that, a directory that cannot be listed, and a
//! family that contradicts another file's set `node_textfile_scrape_error`
//! to 1 and are logged. `node_textfile_mtime_seconds{file}` reports when
//! each file read without error last changed, so a job that stopped writing
//! can be alerted on.
//!
//! The plugin reads only what the host mounts for it: each directory must
//! also be in the plugin's `grants.dirs`, read-only.

pub mod glob;
pub mod merge;
pub mod parse;

use std::fs::File;
use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use wasm_exporter_sdk::{
    CollectError, Collector, InitError, Level, MetricFamily, export_collector, log,
};

use merge::Merger;

/// Largest file read by default: 64 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;

/// The plugin's `config:`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directories to read `*.prom` files from, as node_exporter's
    /// repeatable `--collector.textfile.directory`: absolute paths, Go glob
    /// patterns allowed (`/var/lib/jobs/*/metrics`).
    pub directories: Vec<String>,
    /// A larger file is skipped as an error, so that a runaway job cannot
    /// exhaust the plugin's memory. Default: 64 MiB.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
}

fn default_max_file_bytes() -> u64 {
    DEFAULT_MAX_FILE_BYTES
}

/// The collector.
pub struct Textfile {
    config: Config,
}

/// One file read and parsed.
struct FileRead {
    families: Vec<parse::Family>,
    mtime: SystemTime,
}

/// Reads and parses one `.prom` file: it must be a regular file (a FIFO
/// would block), no larger than the cap, valid text format, without
/// client-side timestamps.
fn read_file(path: &str, max_bytes: u64) -> Result<FileRead, String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("failed to open textfile data file {path:?}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{path:?} is not a regular file"));
    }
    let file =
        File::open(path).map_err(|e| format!("failed to open textfile data file {path:?}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("failed to read textfile data file {path:?}: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!(
            "textfile {path:?} is larger than max_file_bytes ({max_bytes} bytes), skipping entire file"
        ));
    }
    let families = parse::parse(&bytes)
        .map_err(|e| format!("failed to parse textfile data from {path:?}: {e}"))?;
    if families
        .iter()
        .any(|f| f.metrics.iter().any(|m| m.timestamp_ms.is_some()))
    {
        return Err(format!(
            "textfile {path:?} contains unsupported client-side timestamps, skipping entire file"
        ));
    }
    // The time of the content read, not of a file that failed (as
    // node_exporter, which stats only once the file parsed).
    let mtime = meta
        .modified()
        .map_err(|e| format!("failed to stat {path:?}: {e}"))?;
    Ok(FileRead { families, mtime })
}

/// Whole seconds since the epoch, truncated toward zero as Go's
/// `UnixNano() / 1e9`.
fn unix_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as f64,
        Err(before) => -(before.duration().as_secs() as f64),
    }
}

impl Textfile {
    /// The directories the patterns name now; a pattern that matches
    /// nothing (or is malformed) stands for itself, so that reading it
    /// fails and is reported, as in node_exporter.
    fn directories(&self) -> Vec<String> {
        let mut out = Vec::new();
        for pattern in &self.config.directories {
            match glob::expand(pattern) {
                Ok(found) if !found.is_empty() => out.extend(found),
                _ => out.push(pattern.clone()),
            }
        }
        out
    }

    /// One pass over every directory: the files' families and what went
    /// wrong.
    pub fn gather(&self) -> Merger {
        let mut merger = Merger::default();
        for dir in self.directories() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    merger.error(format!(
                        "failed to read textfile collector directory {dir:?}: {e}"
                    ));
                    continue;
                }
            };
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".prom"))
                .collect();
            names.sort();
            for name in names {
                let path = glob::join(&dir, &name);
                match read_file(&path, self.config.max_file_bytes) {
                    Ok(read) => merger.add_file(&path, read.families, unix_seconds(read.mtime)),
                    Err(e) => merger.error(format!("failed to collect textfile data: {e}")),
                }
            }
        }
        merger
    }
}

impl Collector for Textfile {
    type Config = Config;

    fn init(config: Config) -> Result<Self, InitError> {
        if config.directories.is_empty() {
            return Err(InitError::InvalidConfig(
                "config.directories: name at least one directory (and grant it in grants.dirs)"
                    .into(),
            ));
        }
        if let Some(bad) = config.directories.iter().find(|d| !d.starts_with('/')) {
            return Err(InitError::InvalidConfig(format!(
                "config.directories: {bad:?} must be an absolute path"
            )));
        }
        Ok(Textfile { config })
    }

    fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError> {
        let (families, errors) = self.gather().families();
        for message in &errors {
            log(Level::Error, message);
        }
        Ok(families)
    }
}

export_collector!(Textfile);

#[cfg(test)]
mod tests;
