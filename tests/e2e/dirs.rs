//! `grants.dirs`: a plugin reads the directories it is granted and nothing
//! else; it can change nothing in them, and symlinks do not lead it out.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::support::*;

/// `faulty_file_ok` of one instance, told apart by its `case` label.
fn ok(body: &str, case: &str, op: &str) -> Option<f64> {
    sample(
        body,
        &format!("faulty_file_ok{{case=\"{case}\",op=\"{op}\"}}"),
    )
}

const WRITES: [&str; 6] = ["append", "truncate", "create", "rename", "remove", "mkdir"];

fn file_access(name: &str, target: &Path, grant: &Path) -> String {
    format!(
        "  {name}:\n    config: {{fault: file_access, target: '{}'}}\n    grants: {{dirs: ['{}']}}\n    labels: {{case: {name}}}\n",
        target.display(),
        grant.display()
    )
}

#[test]
fn a_granted_directory_is_readable_and_nothing_in_it_can_be_changed() -> Result<()> {
    let dir = PluginsDir::new("dirs-write");
    let granted = dir.path.join("granted");
    std::fs::create_dir(&granted)?;
    let data = granted.join("data.prom");
    std::fs::write(&data, "batch_job_success 1\n")?;
    let yml = format!("instances:\n{}", file_access("writer", &data, &granted));
    dir.add("faulty", "faulty", Some(&yml));
    let exporter = Exporter::start(&dir.path, &[])?;

    let body = exporter.scrape_text()?;
    assert_eq!(ok(&body, "writer", "read"), Some(1.0), "{body}");
    for op in WRITES {
        assert_eq!(
            ok(&body, "writer", op),
            Some(0.0),
            "{op} succeeded:\n{body}"
        );
    }
    assert_eq!(std::fs::read_to_string(&data)?, "batch_job_success 1\n");
    let mut left: Vec<String> = std::fs::read_dir(&granted)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    left.sort();
    assert_eq!(left, ["data.prom"], "the plugin changed the directory");
    // The refusals reach the log with the guest's error, tagged with the plugin.
    let refused = exporter.wait_for_log(&["plugin=writer", "truncate", "data.prom"]);
    assert!(!refused.is_empty());
    exporter.terminate()?;
    Ok(())
}

#[test]
fn paths_outside_the_grant_and_symlinks_out_of_it_are_refused() -> Result<()> {
    let dir = PluginsDir::new("dirs-escape");
    let granted = dir.path.join("granted");
    let outside = dir.path.join("outside");
    std::fs::create_dir(&granted)?;
    std::fs::create_dir(&outside)?;
    let secret = outside.join("secret.prom");
    std::fs::write(&secret, "secret 1\n")?;
    std::fs::write(granted.join("data.prom"), "data 1\n")?;
    std::os::unix::fs::symlink(&secret, granted.join("absolute.prom"))?;
    std::os::unix::fs::symlink("../outside/secret.prom", granted.join("relative.prom"))?;
    std::os::unix::fs::symlink("data.prom", granted.join("inside.prom"))?;
    let yml = format!(
        "instances:\n{}{}{}{}{}",
        file_access("outside", &secret, &granted),
        file_access("dotdot", &granted.join("../outside/secret.prom"), &granted),
        file_access("absolute", &granted.join("absolute.prom"), &granted),
        file_access("relative", &granted.join("relative.prom"), &granted),
        file_access("inside", &granted.join("inside.prom"), &granted),
    );
    dir.add("faulty", "faulty", Some(&yml));
    let exporter = Exporter::start(&dir.path, &[])?;

    let body = exporter.scrape_text()?;
    // A symlink that stays inside the grant works: the refusals below are
    // the sandbox's, not a broken set-up.
    assert_eq!(ok(&body, "inside", "read"), Some(1.0), "{body}");
    for plugin in ["outside", "dotdot", "absolute", "relative"] {
        assert_eq!(
            ok(&body, plugin, "read"),
            Some(0.0),
            "{plugin} read:\n{body}"
        );
        for op in WRITES {
            assert_eq!(ok(&body, plugin, op), Some(0.0), "{plugin} {op}:\n{body}");
        }
    }
    assert_eq!(std::fs::read_to_string(&secret)?, "secret 1\n");
    exporter.terminate()?;
    Ok(())
}

#[test]
fn a_granted_directory_that_appears_later_is_mounted_then() -> Result<()> {
    let dir = PluginsDir::new("dirs-later");
    let later = dir.path.join("later");
    let data = later.join("data.prom");
    let yml = format!("instances:\n{}", file_access("later", &data, &later));
    dir.add("faulty", "faulty", Some(&yml));
    let exporter = Exporter::start(&dir.path, &[])?;

    let body = exporter.scrape_text()?;
    assert_eq!(ok(&body, "later", "read"), Some(0.0), "{body}");
    assert!(
        !exporter
            .wait_for_log(&["granted directory not mounted", "later"])
            .is_empty()
    );

    std::fs::create_dir(&later)?;
    std::fs::write(&data, "x 1\n")?;
    eventually(Duration::from_secs(10), || {
        let body = exporter.scrape_text()?;
        Ok((ok(&body, "later", "read") == Some(1.0)).then_some(()))
    })?;
    assert!(
        !exporter
            .wait_for_log(&["a granted directory appeared"])
            .is_empty()
    );
    exporter.terminate()?;
    Ok(())
}

#[test]
fn a_grant_that_is_not_a_clean_absolute_path_keeps_the_plugin_from_loading() -> Result<()> {
    let dir = PluginsDir::new("dirs-bad");
    dir.add("conformance", "conformance", None).add(
        "faulty",
        "faulty",
        Some(
            "config: {fault: file_access, target: /etc/passwd}\ngrants: {dirs: ['/etc/../etc']}\n",
        ),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(
        sample(&body, "wasm_exporter_plugin_up{plugin=\"faulty\"}"),
        Some(0.0)
    );
    assert!(
        sample(&body, "conformance_collects_total").is_some(),
        "{body}"
    );
    let logged = exporter.wait_for_log(&["plugin not loaded", "grants.dirs", "without . or .."]);
    assert!(!logged.is_empty());
    exporter.terminate()?;
    Ok(())
}
