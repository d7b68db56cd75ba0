//! `wasm_exporter check`: one plugin through the real runtime, without a
//! plugins directory or HTTP; the exit status says whether the exporter
//! would serve it all (0), drop something (1) or fail it (2).

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::support::*;

struct Checked {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check(args: &[&str]) -> Result<Checked> {
    let out = Command::new(env!("CARGO_BIN_EXE_wasm_exporter"))
        .arg("check")
        .args(args)
        .output()?;
    Ok(Checked {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

fn faulty(dir: &PluginsDir, fault: &str) -> String {
    let yml = dir.path.join(format!("{fault}.yml"));
    std::fs::write(&yml, format!("config: {{fault: {fault}}}\n")).unwrap();
    yml.display().to_string()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn a_clean_plugin_exits_0_with_its_exposition_on_stdout() -> Result<()> {
    let c = check(&[&path(&plugin("conformance")), "--scrapes", "2"])?;
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert!(
        c.stdout
            .contains("# TYPE conformance_collects_total counter"),
        "{}",
        c.stdout
    );
    // The plugin's second collect is what is printed.
    assert_eq!(sample(&c.stdout, "conformance_collects_total"), Some(2.0));
    assert!(c.stderr.contains("collect 2:"), "{}", c.stderr);
    assert!(c.stderr.contains("verdict: clean (exit 0)"), "{}", c.stderr);
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &c.stdout)?;
    assert!(ok, "promtool check metrics:\n{out}");

    let om = check(&[&path(&plugin("conformance")), "--format", "openmetrics"])?;
    assert_eq!(om.code, 0, "{}", om.stderr);
    assert!(om.stdout.ends_with("# EOF\n"), "{}", om.stdout);

    // Names as a scraper asking for each escaping would see them.
    assert!(
        c.stdout
            .contains("\nconformance_utf8_temperature{room_name=\"kitchen\"")
    );
    let utf8 = check(&[&path(&plugin("conformance")), "--escaping", "allow-utf-8"])?;
    assert_eq!(utf8.code, 0, "{}", utf8.stderr);
    assert!(
        utf8.stdout
            .contains("\n{\"conformance.utf8.temperature\",\"room.name\"=\"kitchen\""),
        "{}",
        utf8.stdout
    );
    let bad = check(&[&path(&plugin("conformance")), "--escaping", "rot13"])?;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("unknown escaping scheme \"rot13\""),
        "{}",
        bad.stderr
    );
    Ok(())
}

#[test]
fn a_clash_that_escaping_makes_is_a_drop() -> Result<()> {
    let dir = PluginsDir::new("check-escape-clash");
    // Two instances whose prefixes differ only in a dot.
    dir.write(
        "conformance.yml",
        b"instances:\n  dotted: {config: {prefix: srv.one}}\n  plain: {config: {prefix: srv_one}}\n",
    );
    let c = check(&[
        &path(&plugin("conformance")),
        "--config",
        &path(&dir.path.join("conformance.yml")),
    ])?;
    assert_eq!(c.code, 1, "{}", c.stderr);
    // Under the collect of the instance that lost it, naming both families,
    // and counted there: the plain instance serves nothing.
    assert!(
        c.stderr.contains(
            "dropped family srv_one_mystery [rule escape_clash]: its name is \"srv_one_mystery\" under escaping=underscores, as family srv.one_mystery's"
        ),
        "{}",
        c.stderr
    );
    let plain = c
        .stderr
        .split("plugin plain")
        .nth(1)
        .and_then(|s| s.lines().find(|l| l.contains("collect 1:")))
        .unwrap_or_default();
    assert!(
        plain.contains("collect 1: 0 families, 0 series served,") && !plain.contains(" 0 dropped"),
        "{}",
        c.stderr
    );
    let utf8 = check(&[
        &path(&plugin("conformance")),
        "--config",
        &path(&dir.path.join("conformance.yml")),
        "--escaping",
        "allow-utf-8",
    ])?;
    assert_eq!(utf8.code, 0, "{}", utf8.stderr);
    Ok(())
}

#[test]
fn mistakes_exit_1_naming_the_family_the_rule_and_the_fix() -> Result<()> {
    let dir = PluginsDir::new("check-mistakes");
    let c = check(&[
        &path(&plugin("faulty")),
        "--config",
        &faulty(&dir, "non_cumulative"),
    ])?;
    assert_eq!(c.code, 1, "{}", c.stderr);
    assert!(
        c.stderr.contains("dropped family broken_histogram"),
        "{}",
        c.stderr
    );
    assert!(c.stderr.contains("[rule buckets]"), "{}", c.stderr);
    assert!(
        c.stderr.contains("fix: sort buckets by bound"),
        "{}",
        c.stderr
    );

    let c = check(&[
        &path(&plugin("faulty")),
        "--config",
        &faulty(&dir, "bad_names"),
    ])?;
    assert_eq!(c.code, 1, "{}", c.stderr);
    assert!(c.stderr.contains("[rule metric_name]"), "{}", c.stderr);
    assert!(
        c.stderr.contains("fix: give the family a name"),
        "{}",
        c.stderr
    );
    Ok(())
}

#[test]
fn failures_exit_2_with_the_reason_and_the_plugins_own_words() -> Result<()> {
    let dir = PluginsDir::new("check-failures");
    let c = check(&[
        &path(&plugin("faulty")),
        "--config",
        &faulty(&dir, "panic_collect"),
    ])?;
    assert_eq!(c.code, 2, "{}", c.stderr);
    assert!(c.stderr.contains("FAILED [trap]"), "{}", c.stderr);
    assert!(
        c.stderr
            .contains("fix: the plugin panicked or hit a wasm trap"),
        "{}",
        c.stderr
    );
    // The plugin's stderr reaches the log, tagged with it: where and what
    // on one line, and no advice to set `RUST_BACKTRACE`, which a plugin
    // cannot.
    assert!(c.stderr.contains("panic in collect"), "{}", c.stderr);
    assert!(
        c.stderr
            .lines()
            .any(|l| l.contains("panicked at") && l.contains("panic in collect")),
        "{}",
        c.stderr
    );
    assert!(!c.stderr.contains("RUST_BACKTRACE"), "{}", c.stderr);

    let c = check(&[
        &path(&plugin("faulty")),
        "--config",
        &faulty(&dir, "panic_init"),
    ])?;
    assert_eq!(c.code, 2, "{}", c.stderr);
    assert!(c.stderr.contains("FAILED to start"), "{}", c.stderr);

    let junk = dir.path.join("junk.wasm");
    std::fs::write(&junk, b"not a component")?;
    let c = check(&[&path(&junk)])?;
    assert_eq!(c.code, 2, "{}", c.stderr);
    assert!(c.stderr.contains("[load]"), "{}", c.stderr);
    Ok(())
}

#[test]
fn json_report_for_machines() -> Result<()> {
    let dir = PluginsDir::new("check-json");
    let c = check(&[
        &path(&plugin("faulty")),
        "--config",
        &faulty(&dir, "non_cumulative"),
        "--scrapes",
        "3",
        "--json",
    ])?;
    assert_eq!(c.code, 1, "{}", c.stderr);
    let report: serde_json::Value = serde_json::from_str(&c.stdout)?;
    assert_eq!(report["verdict"], "dropped");
    let collects = report["instances"][0]["collects"].as_array().unwrap();
    assert_eq!(collects.len(), 3);
    let dropped = &collects[0]["dropped"][0];
    assert_eq!(dropped["family"], "broken_histogram");
    assert_eq!(dropped["rule"], "buckets");
    assert!(
        dropped["fix"]
            .as_str()
            .unwrap()
            .starts_with("sort buckets by bound"),
        "{dropped}"
    );
    Ok(())
}

#[test]
fn config_files_are_read_beside_the_given_config() -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = PluginsDir::new("check-config-files");
    let secret = dir.path.join("prefix.txt");
    std::fs::write(&secret, "from_file\n")?;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))?;
    let yml = dir.path.join("conformance.yml");
    std::fs::write(&yml, "config_files: {prefix: prefix.txt}\n")?;
    // The .wasm stays in build/plugins; the relative file is the config's.
    let c = check(&[&path(&plugin("conformance")), "--config", &path(&yml)])?;
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert_eq!(
        sample(&c.stdout, "from_file_collects_total"),
        Some(1.0),
        "{}",
        c.stdout
    );
    Ok(())
}

#[test]
fn instances_that_share_families_are_merged_as_a_scrape_merges_them() -> Result<()> {
    let dir = PluginsDir::new("check-instances");
    let yml = dir.path.join("two.yml");
    std::fs::write(
        &yml,
        "instances:\n  east:\n    labels: {site: east}\n  west:\n    labels: {site: west}\n",
    )?;
    let c = check(&[&path(&plugin("conformance")), "--config", &path(&yml)])?;
    assert_eq!(c.code, 0, "{}", c.stderr);
    let types = c
        .stdout
        .lines()
        .filter(|l| *l == "# TYPE conformance_collects_total counter")
        .count();
    assert_eq!(
        types, 1,
        "one family, not a block per instance:\n{}",
        c.stdout
    );
    for site in ["east", "west"] {
        let series = format!("conformance_collects_total{{site=\"{site}\"}}");
        assert_eq!(sample(&c.stdout, &series), Some(1.0), "{}", c.stdout);
    }
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &c.stdout)?;
    assert!(ok, "promtool check metrics:\n{out}");
    Ok(())
}

#[test]
fn a_cache_dir_compiles_the_plugin_once_across_checks() -> Result<()> {
    let dir = PluginsDir::new("check-cache");
    let cache = dir.path.join("cache").display().to_string();
    let conformance = path(&plugin("conformance"));
    let first = check(&[&conformance, "--cache-dir", &cache])?;
    let second = check(&[&conformance, "--cache-dir", &cache])?;
    for (c, lookup) in [(&first, "cache=miss"), (&second, "cache=hit")] {
        assert_eq!(c.code, 0, "{}", c.stderr);
        assert!(
            c.stderr
                .lines()
                .any(|l| l.contains("plugin loaded") && l.contains(lookup)),
            "{lookup}: {}",
            c.stderr
        );
    }
    assert_eq!(first.stdout, second.stdout);
    Ok(())
}

#[test]
fn a_counter_that_goes_down_between_scrapes_is_flagged() -> Result<()> {
    let dir = PluginsDir::new("check-counter-down");
    let c = check(&[
        &path(&plugin("faulty")),
        "--config",
        &faulty(&dir, "counter_down"),
        "--scrapes",
        "3",
    ])?;
    // Served all the same (a reset is legal), so the verdict is clean.
    assert_eq!(c.code, 0, "{}", c.stderr);
    let warnings: Vec<&str> = c
        .stderr
        .lines()
        .filter(|l| l.contains("warning:"))
        .collect();
    assert_eq!(
        warnings,
        [
            "    warning: counter falling_total{job=\"backup\"} went down from 99 to 98: Prometheus reads a decrease as a reset",
            "    warning: counter falling_total{job=\"backup\"} went down from 98 to 97: Prometheus reads a decrease as a reset",
        ],
        "{}",
        c.stderr
    );
    Ok(())
}

#[test]
fn a_python_exception_is_reported_with_its_traceback() -> Result<()> {
    let dir = PluginsDir::new("check-python-traceback");
    let yml = dir.path.join("py.yml");
    std::fs::write(&yml, "config: {fail_in_collect: true}\n")?;
    let c = check(&[&path(&plugin("conformance-py")), "--config", &path(&yml)])?;
    assert_eq!(c.code, 2, "{}", c.stderr);
    // The reason is the exception; the log lines above it, the traceback
    // down to the function and line that raised (componentize-py keeps no
    // source text to quote).
    assert!(c.stderr.contains("KeyError: 'missing key'"), "{}", c.stderr);
    for parts in [
        &["Traceback (most recent call last):"][..],
        &["app.py", "in broken_helper"],
    ] {
        assert!(
            c.stderr
                .lines()
                .any(|l| l.contains("stream=stderr") && parts.iter().all(|p| l.contains(p))),
            "{parts:?}: {}",
            c.stderr
        );
    }
    Ok(())
}
