//! `--plugins.cache-dir`: compiled plugins are reused across starts, and a
//! corrupt or foreign entry is detected, logged and rebuilt, never loaded.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::support::*;

struct CacheDir(PathBuf);

impl CacheDir {
    fn new(test: &str) -> Result<Self> {
        let p =
            std::env::temp_dir().join(format!("wasm_exporter-cache-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Ok(CacheDir(p))
    }

    fn entries(&self) -> Result<Vec<PathBuf>> {
        let mut out: Vec<PathBuf> = std::fs::read_dir(&self.0)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
            .collect();
        out.sort();
        Ok(out)
    }
}

impl Drop for CacheDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts, scrapes once, stops; returns the `cache=` field of each load.
fn start_once(plugins: &Path, cache: &CacheDir) -> Result<(Vec<String>, Vec<String>)> {
    let dir = cache.0.display().to_string();
    let exporter = Exporter::start(plugins, &["--plugins.cache-dir", &dir])?;
    let scrape = exporter.scrape_text()?;
    ensure!(
        scrape.contains("wasm_exporter_plugin_up{plugin=\"conformance\"} 1"),
        "{scrape}"
    );
    let loads = exporter.logs_matching(&["plugin loaded"]);
    let lookups = loads
        .iter()
        .filter_map(|l| l.split("cache=").nth(1))
        .map(|v| v.split_whitespace().next().unwrap_or("").to_owned())
        .collect();
    let logs = exporter.logs();
    exporter.terminate()?;
    Ok((lookups, logs))
}

#[test]
fn compiled_plugins_are_reused_and_bad_entries_rebuilt() -> Result<()> {
    let plugins = PluginsDir::new("cache");
    plugins.add("conformance", "conformance", None);
    let cache = CacheDir::new("reuse")?;

    let (first, _) = start_once(&plugins.path, &cache)?;
    ensure!(first == ["miss"], "{first:?}");
    let entries = cache.entries()?;
    ensure!(entries.len() == 1, "{entries:?}");
    let entry = &entries[0];
    let (second, _) = start_once(&plugins.path, &cache)?;
    ensure!(second == ["hit"], "{second:?}");

    // One flipped bit in the compiled code: refused, compiled afresh, and
    // the entry rewritten so the next start hits again.
    let good = std::fs::read(entry)?;
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    std::fs::write(entry, &bad)?;
    let (third, logs) = start_once(&plugins.path, &cache)?;
    ensure!(third == ["miss"], "{third:?}");
    ensure!(
        logs.iter().any(|l| l.contains("corrupt or not ours")),
        "{logs:?}"
    );
    ensure!(std::fs::read(entry)? == good, "entry not rewritten");

    // A truncated entry, as a crash mid-copy would leave.
    std::fs::write(entry, &good[..good.len() / 2])?;
    let (fourth, _) = start_once(&plugins.path, &cache)?;
    ensure!(fourth == ["miss"], "{fourth:?}");

    // A foreign entry whose checksum is right but which wasmtime did not
    // write for this engine: wasmtime's own check refuses it.
    let mut foreign = b"WXCACHE1".to_vec();
    let payload = b"\x7fELF not a wasmtime artifact".to_vec();
    foreign.extend_from_slice(&sha256(&payload)?);
    foreign.extend_from_slice(&payload);
    std::fs::write(entry, &foreign)?;
    let (fifth, logs) = start_once(&plugins.path, &cache)?;
    ensure!(fifth == ["miss"], "{fifth:?}");
    ensure!(logs.iter().any(|l| l.contains("not loadable")), "{logs:?}");
    ensure!(std::fs::read(entry)? == good);

    // A changed plugin gets an entry of its own.
    plugins.add("conformance", "trap", None);
    let dir = cache.0.display().to_string();
    let exporter = Exporter::start(&plugins.path, &["--plugins.cache-dir", &dir])?;
    let loads = exporter.logs_matching(&["plugin loaded", "cache=miss"]);
    ensure!(loads.len() == 1, "{loads:?}");
    ensure!(cache.entries()?.len() == 2);
    Ok(())
}

fn sha256(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    std::io::Write::write_all(child.stdin.as_mut().context("stdin")?, bytes)?;
    let out = child.wait_with_output()?;
    let hex = String::from_utf8(out.stdout)?;
    let hex = hex.split_whitespace().next().context("sha256sum output")?;
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(Into::into))
        .collect()
}

#[test]
fn a_cache_dir_others_can_write_is_refused() -> Result<()> {
    let plugins = PluginsDir::new("cache-perm");
    plugins.add("conformance", "conformance", None);
    let cache = CacheDir::new("perm")?;
    std::fs::create_dir_all(&cache.0)?;
    std::fs::set_permissions(&cache.0, std::fs::Permissions::from_mode(0o777))?;
    let dir = cache.0.display().to_string();
    let stderr = start_refused(&plugins.path, &["--plugins.cache-dir", &dir])?;
    ensure!(stderr.contains("writable by group or others"), "{stderr}");
    Ok(())
}
