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
fn a_cache_problem_never_stops_the_exporter() -> Result<()> {
    let plugins = PluginsDir::new("plugins-for-broken-cache");
    plugins.add("conformance", "conformance", None);
    // A cache dir that cannot be made: its parent is a file.
    let cache = CacheDir::new("broken")?;
    std::fs::write(&cache.0, b"not a directory")?;
    let dir = cache.0.join("cache").display().to_string();
    let exporter = Exporter::start(&plugins.path, &["--plugins.cache-dir", &dir])?;
    let body = exporter.scrape_text()?;
    ensure!(
        body.contains("wasm_exporter_plugin_up{plugin=\"conformance\"} 1"),
        "{body}"
    );
    // The log is read from a pipe in the background: under load a line
    // logged before ready may not have been read yet.
    exporter.wait_for_log(&["plugin loaded", "cache=off"]);
    let warned = exporter.logs_matching(&["plugin cache off"]);
    ensure!(warned.len() == 1, "{warned:#?}");
    std::fs::remove_file(&cache.0)?;
    Ok(())
}

#[test]
fn a_cache_dir_others_can_write_gets_a_private_subdirectory() -> Result<()> {
    let plugins = PluginsDir::new("plugins-for-loose-cache");
    plugins.add("conformance", "conformance", None);
    let cache = CacheDir::new("perm")?;
    std::fs::create_dir_all(&cache.0)?;
    std::fs::set_permissions(&cache.0, std::fs::Permissions::from_mode(0o777))?;
    let (first, _) = start_once(&plugins.path, &cache)?;
    ensure!(first == ["miss"], "{first:?}");
    let own = cache.0.join("wasm_exporter-0");
    let mode = std::fs::metadata(&own)?.permissions().mode() & 0o777;
    ensure!(mode == 0o700, "{} has mode {mode:o}", own.display());
    let entries = std::fs::read_dir(&own)?.count();
    ensure!(entries == 1, "{entries} entries in {}", own.display());
    let (second, _) = start_once(&plugins.path, &cache)?;
    ensure!(second == ["hit"], "{second:?}");
    // Someone else's (or a loose) subdirectory is not used.
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o777))?;
    let (third, logs) = start_once(&plugins.path, &cache)?;
    ensure!(third == ["off"], "{third:?}");
    ensure!(
        logs.iter()
            .any(|l| l.contains("plugin cache off") && l.contains("mode 0700")),
        "{logs:#?}"
    );
    Ok(())
}

/// Runs `args` as `uid` (what the image or the pod runs as), with every
/// absolute path re-rooted under `root` and the listen address on
/// loopback; ready once it says so.
fn start_as(uid: u32, root: &Path, args: &[String]) -> Result<Exporter> {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".to_owned(),
        env!("CARGO_BIN_EXE_wasm_exporter").to_owned(),
        "--web.listen-address=127.0.0.1:0".to_owned(),
    ]);
    let mut plugins = None;
    for arg in args {
        if arg.starts_with("--web.listen-address") {
            continue;
        }
        let arg = match arg.split_once("=/") {
            Some((flag, path)) => format!("{flag}={}/{path}", root.display()),
            None => arg.clone(),
        };
        match arg.strip_prefix("--plugins.dir=") {
            Some(dir) => plugins = Some(PathBuf::from(dir)),
            None => {
                cmd.arg(arg);
            }
        }
    }
    let plugins = plugins.context("no --plugins.dir in the command")?;
    Exporter::start_secured(cmd, &plugins, &[])
}

/// A directory tree standing in for the container's filesystem.
fn container_root(test: &str) -> Result<PathBuf> {
    let root =
        std::env::temp_dir().join(format!("wasm_exporter-root-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let plugins = root.join("etc/wasm_exporter/plugins.d");
    std::fs::create_dir_all(&plugins)?;
    std::fs::create_dir_all(root.join("var/cache"))?;
    std::fs::copy(plugin("conformance"), plugins.join("conformance.wasm"))?;
    for dir in [&root, &root.join("etc"), &root.join("var")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(root)
}

/// Starts `args` as `uid` twice on the same tree: both serve, the first
/// compiles into the cache and the second loads from it.
fn serves_and_caches_as(uid: u32, root: &Path, args: &[String]) -> Result<()> {
    for want in ["miss", "hit"] {
        let e = start_as(uid, root, args)?;
        let body = e.scrape_text()?;
        ensure!(
            body.contains("wasm_exporter_plugin_up{plugin=\"conformance\"} 1"),
            "{body}"
        );
        // logfmt or JSON, as the command line says.
        let logfmt = e.logs_matching(&["plugin loaded", &format!("cache={want}")]);
        let json = e.logs_matching(&["plugin loaded", &format!("\"cache\":\"{want}\"")]);
        ensure!(
            logfmt.len() + json.len() == 1,
            "wanted cache={want}: {:#?}",
            e.logs()
        );
        e.terminate()?;
    }
    Ok(())
}

#[test]
fn the_docker_image_s_command_runs_as_its_user() -> Result<()> {
    let dockerfile = std::fs::read_to_string(tests_dir().join("../deploy/Dockerfile"))?;
    let user: u32 = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .and_then(|u| u.split(':').next())
        .context("USER")?
        .trim()
        .parse()?;
    let cmd: Vec<String> = serde_json::from_str(
        dockerfile
            .lines()
            .find_map(|l| l.strip_prefix("CMD "))
            .context("CMD")?,
    )?;
    let root = container_root("docker")?;
    // The directories the image's `install -d` lines make, as they make them.
    let script = dockerfile.replace("\\\n", " ");
    for line in script.lines().filter(|l| l.contains("install -d")) {
        for part in line.split("&&").filter(|p| p.contains("install -d")) {
            let words: Vec<&str> = part.split_whitespace().collect();
            let start = words
                .iter()
                .position(|w| *w == "-d")
                .context("install -d")?;
            let (mut owner, mut mode, mut paths) = (0, 0o755, Vec::new());
            let mut i = start + 1;
            while i < words.len() {
                match words[i] {
                    "-o" => owner = words[i + 1].parse()?,
                    "-g" => {}
                    "-m" => mode = u32::from_str_radix(words[i + 1], 8)?,
                    path => {
                        paths.push(path);
                        i += 1;
                        continue;
                    }
                }
                i += 2;
            }
            for path in paths {
                let dir = root.join(path.trim_start_matches('/'));
                std::fs::create_dir_all(&dir)?;
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))?;
                std::os::unix::fs::chown(&dir, Some(owner), Some(owner))?;
            }
        }
    }
    std::fs::copy(
        plugin("conformance"),
        root.join("etc/wasm_exporter/plugins.d/conformance.wasm"),
    )?;
    serves_and_caches_as(user, &root, &cmd)?;
    std::fs::remove_dir_all(&root)?;
    Ok(())
}

#[test]
fn the_daemonset_s_args_run_as_its_user_on_an_empty_dir() -> Result<()> {
    let manifest =
        std::fs::read_to_string(tests_dir().join("../deploy/kubernetes/daemonset.yaml"))?;
    let user: u32 = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("runAsUser:"))
        .context("runAsUser")?
        .trim()
        .parse()?;
    let args: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- --"))
        .map(|a| format!("--{a}"))
        .collect();
    ensure!(
        manifest.contains("emptyDir:")
            && args.iter().any(|a| a.starts_with("--plugins.cache-dir=")),
        "the DaemonSet's cache is no longer an emptyDir"
    );
    let root = container_root("daemonset")?;
    // kubelet makes an emptyDir root-owned with mode 0777.
    let cache = root.join("var/cache/wasm_exporter");
    std::fs::create_dir_all(&cache)?;
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777))?;
    serves_and_caches_as(user, &root, &args)?;
    let own = cache.join(format!("wasm_exporter-{user}"));
    let meta = std::fs::metadata(&own)?;
    ensure!(meta.permissions().mode() & 0o777 == 0o700);
    ensure!(std::os::unix::fs::MetadataExt::uid(&meta) == user);
    std::fs::remove_dir_all(&root)?;
    Ok(())
}
