//! The `textfile` plugin through the real binary: every scenario of
//! `plugins/textfile/testdata/` against its golden file and against
//! Debian's node_exporter reading the same files; and the sandbox around
//! it (a directory outside the grant, a symlink out of it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::support::*;

/// Every file gets this mtime, so that both exporters and the golden files
/// agree on `node_textfile_mtime_seconds`.
const MTIME: u64 = 1_700_000_000;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/textfile/testdata")
}

fn scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(testdata())
        .expect("plugins/textfile/testdata")
        .map(|e| e.expect("entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A copy of `scenario`'s files in `dir/files`, with fixed mtimes.
fn stage(dir: &PluginsDir, scenario: &str) -> Result<PathBuf> {
    let files = dir.path.join("files");
    std::fs::create_dir_all(&files)?;
    for entry in std::fs::read_dir(testdata().join(scenario))? {
        let entry = entry?;
        let to = files.join(entry.file_name());
        std::fs::copy(entry.path(), &to)?;
        std::fs::File::options()
            .write(true)
            .open(&to)?
            .set_modified(UNIX_EPOCH + Duration::from_secs(MTIME))?;
    }
    Ok(files)
}

fn textfile_yml(directories: &[&Path], grants: &[&Path]) -> String {
    let list = |paths: &[&Path]| {
        paths
            .iter()
            .map(|p| format!("'{}'", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "config: {{directories: [{}]}}\ngrants: {{dirs: [{}]}}\n",
        list(directories),
        list(grants)
    )
}

/// The plugin's part of an exposition: no host or peer families, and the
/// staging directory written as `$DIR`.
fn plugin_part(exposition: &str, files: &Path) -> String {
    let foreign = [
        "wasm_exporter_",
        "process_",
        "promhttp_",
        "go_",
        "node_exporter_build_info",
        "node_scrape_collector_",
    ];
    let mut out = String::new();
    for line in exposition.lines() {
        let name = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
            .unwrap_or(line);
        if foreign.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        out.push_str(&line.replace(&files.display().to_string(), "$DIR"));
        out.push('\n');
    }
    out
}

/// Families of a text exposition: HELP, TYPE and the sorted sample lines.
fn families(exposition: &str) -> BTreeMap<String, (String, String, Vec<String>)> {
    let mut out: BTreeMap<String, (String, String, Vec<String>)> = BTreeMap::new();
    let mut current = String::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.entry(name.to_owned()).or_default().0 = help.to_owned();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            current = name.to_owned();
            out.entry(current.clone()).or_default().1 = kind.to_owned();
        } else if !line.is_empty() {
            out.entry(current.clone())
                .or_default()
                .2
                .push(line.to_owned());
        }
    }
    for family in out.values_mut() {
        family.2.sort();
    }
    out
}

/// Our exporter on `scenario`'s files; `test` keeps the staging
/// directories of tests running at once apart.
fn ours(test: &str, scenario: &str) -> Result<(String, String)> {
    let dir = PluginsDir::new(&format!("textfile-{test}-{scenario}"));
    let files = stage(&dir, scenario)?;
    dir.add(
        "textfile",
        "textfile",
        Some(&textfile_yml(&[&files], &[&files])),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    exporter.terminate()?;
    Ok((plugin_part(&body, &files), body))
}

/// Debian's node_exporter with only its textfile collector, on the same
/// files; stopped by PID.
fn node_exporter(scenario: &str) -> Result<String> {
    let dir = PluginsDir::new(&format!("node-exporter-{scenario}"));
    let files = stage(&dir, scenario)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new("prometheus-node-exporter")
        .args([
            "--collector.disable-defaults",
            "--collector.textfile",
            "--web.disable-exporter-metrics",
        ])
        .arg(format!(
            "--collector.textfile.directory={}",
            files.display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting prometheus-node-exporter")?;
    let body = eventually(Duration::from_secs(10), || {
        request(&addr, "GET", "/metrics", &[])
            .ok()
            .filter(|r| r.status == 200)
            .map(|r| r.text())
            .transpose()
    });
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    Ok(plugin_part(&body?, &files))
}

#[test]
fn every_scenario_matches_its_golden_file_and_passes_promtool() -> Result<()> {
    let scenarios = scenarios();
    assert!(scenarios.len() >= 9, "{scenarios:?}");
    for scenario in scenarios {
        let (part, body) = ours("golden", &scenario)?;
        golden::check(&testdata().join(format!("{scenario}.metrics")), &part);
        let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &body)?;
        assert!(ok, "{scenario}: promtool check metrics:\n{out}");
    }
    Ok(())
}

#[test]
fn every_scenario_serves_what_node_exporter_serves() -> Result<()> {
    for scenario in scenarios() {
        let mut theirs = families(&node_exporter(&scenario)?);
        let mut mine = families(&ours("parity", &scenario)?.0);
        if scenario == "merge_different_help" {
            // node_exporter 1.5 counts this only as a gather error; its
            // current code (and so ours) sets the error gauge.
            let gauge = |f: &BTreeMap<String, (String, String, Vec<String>)>| {
                f["node_textfile_scrape_error"].2.clone()
            };
            assert_eq!(gauge(&mine), ["node_textfile_scrape_error 1"]);
            assert_eq!(gauge(&theirs), ["node_textfile_scrape_error 0"]);
            mine.remove("node_textfile_scrape_error");
            theirs.remove("node_textfile_scrape_error");
        }
        assert_eq!(mine, theirs, "{scenario}: ours (left) and node_exporter's");
    }
    Ok(())
}

fn scrape_error(body: &str) -> Option<f64> {
    sample(body, "node_textfile_scrape_error")
}

#[test]
fn a_directory_outside_the_grant_and_a_symlink_out_of_it_are_errors() -> Result<()> {
    let dir = PluginsDir::new("textfile-escape");
    let granted = dir.path.join("granted");
    let outside = dir.path.join("outside");
    std::fs::create_dir(&granted)?;
    std::fs::create_dir(&outside)?;
    std::fs::write(granted.join("inside.prom"), "inside_metric 1\n")?;
    std::fs::write(outside.join("secret.prom"), "secret_metric 1\n")?;
    std::os::unix::fs::symlink(outside.join("secret.prom"), granted.join("link.prom"))?;

    // The symlink leads out of the grant: that file is an error, the others serve.
    dir.add(
        "textfile",
        "textfile",
        Some(&textfile_yml(&[&granted], &[&granted])),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(sample(&body, "inside_metric"), Some(1.0), "{body}");
    assert_eq!(sample(&body, "secret_metric"), None, "{body}");
    assert_eq!(scrape_error(&body), Some(1.0));
    exporter.wait_for_log(&["plugin=textfile", "link.prom"]);
    exporter.terminate()?;

    // A directory that is configured but not granted does not exist for
    // the plugin.
    dir.write(
        "textfile.yml",
        textfile_yml(&[&granted, &outside], &[&granted]).as_bytes(),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(sample(&body, "inside_metric"), Some(1.0), "{body}");
    assert_eq!(sample(&body, "secret_metric"), None, "{body}");
    assert_eq!(scrape_error(&body), Some(1.0));
    exporter.wait_for_log(&["failed to read textfile collector directory", "outside"]);
    exporter.terminate()?;
    Ok(())
}

#[test]
fn a_file_written_between_scrapes_is_served_on_the_next() -> Result<()> {
    let dir = PluginsDir::new("textfile-fresh");
    let files = dir.path.join("files");
    std::fs::create_dir(&files)?;
    dir.add(
        "textfile",
        "textfile",
        Some(&textfile_yml(&[&files], &[&files])),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(sample(&body, "job_done"), None);
    assert_eq!(scrape_error(&body), Some(0.0));
    // As a batch job should: write aside, rename into place.
    std::fs::write(files.join("job.prom.tmp"), "job_done 1\n")?;
    std::fs::rename(files.join("job.prom.tmp"), files.join("job.prom"))?;
    let body = exporter.scrape_text()?;
    assert_eq!(sample(&body, "job_done"), Some(1.0), "{body}");
    // And a file taken away takes its series with it.
    std::fs::remove_file(files.join("job.prom"))?;
    let body = exporter.scrape_text()?;
    assert_eq!(sample(&body, "job_done"), None, "{body}");
    exporter.terminate()?;
    Ok(())
}
