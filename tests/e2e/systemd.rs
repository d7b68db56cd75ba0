//! The systemd unit and the man pages it names: `systemd-analyze verify`
//! on the unit as shipped and as its install steps leave it, the process
//! metrics under its `/proc` restrictions, and the man pages through groff
//! and man.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::deploy::{flags_in, our_flags, read};
use crate::support::*;

#[test]
fn systemd_units_verify_and_pass_known_flags() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("wasm_exporter-systemd-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let service = read("systemd/wasm_exporter.service")?;
    // Point ExecStart at the binary under test, so verify can find it.
    std::fs::write(
        dir.join("wasm_exporter.service"),
        service.replace(
            "/usr/local/bin/wasm_exporter",
            env!("CARGO_BIN_EXE_wasm_exporter"),
        ),
    )?;
    std::fs::write(
        dir.join("wasm_exporter.socket"),
        read("systemd/wasm_exporter.socket")?,
    )?;
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(dir.join("wasm_exporter.service"))
        .arg(dir.join("wasm_exporter.socket"))
        .output()
        .context("running systemd-analyze")?;
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    for setting in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ReadOnlyPaths=/etc/wasm_exporter",
        "NoNewPrivileges=yes",
    ] {
        ensure!(service.lines().any(|l| l == setting), "{setting} missing");
    }
    let ours = our_flags()?;
    let exec: String = service
        .split("ExecStart=")
        .nth(1)
        .context("no ExecStart")?
        .split("\n\n")
        .next()
        .unwrap_or("")
        .lines()
        .take_while(|l| !l.starts_with("ExecReload"))
        .collect::<Vec<_>>()
        .join(" ");
    let used = flags_in(&exec);
    ensure!(used.len() >= 3, "{used:?}");
    for flag in used {
        ensure!(
            ours.contains(&flag),
            "the unit passes {flag}, which wasm_exporter does not know"
        );
    }
    Ok(())
}

#[test]
fn process_metrics_under_the_unit_s_proc_subset() -> Result<()> {
    // The shipped unit sets ProcSubset=pid: systemd mounts /proc with
    // subset=pid, which hides /proc/stat. The same mount, without systemd:
    // a private mount and PID namespace with such a /proc.
    let unit = read("systemd/wasm_exporter.service")?;
    ensure!(
        unit.contains("ProcSubset=pid"),
        "the unit no longer hides /proc"
    );
    let dir = PluginsDir::new("proc-subset");
    dir.add("conformance", "conformance", None);
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "sh",
        "-c",
        "mount -t proc -o subset=pid proc /proc && test ! -e /proc/stat && exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_wasm_exporter"),
        "--web.listen-address",
        "127.0.0.1:0",
    ]);
    let e = Exporter::start_secured(cmd, &dir.path, &[])?;
    let body = e.scrape_text()?;
    for name in [
        "process_start_time_seconds",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        ensure!(
            sample(&body, name).is_some(),
            "{name} missing with /proc/stat hidden:\n{body}"
        );
    }
    let start = sample(&body, "process_start_time_seconds").context("start time")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64();
    ensure!(
        start <= now && start > now - 600.0,
        "start {start}, now {now}"
    );
    Ok(())
}

/// The install steps in the unit's header, one command per line.
fn install_steps(unit: &str) -> Vec<String> {
    unit.lines()
        .skip_while(|l| !l.starts_with("#   "))
        .take_while(|l| l.starts_with("#   "))
        .map(|l| l.trim_start_matches('#').trim().to_owned())
        .collect()
}

#[test]
fn the_unit_s_install_steps_give_a_unit_that_verifies() -> Result<()> {
    let unit = read("systemd/wasm_exporter.service")?;
    let steps = install_steps(&unit);
    ensure!(steps.len() >= 5, "{steps:?}");
    // A checkout as the steps expect it, with what `make` builds taken
    // from this test run: the binary, the plugins, the man pages.
    let root = std::env::temp_dir().join(format!("wasm_exporter-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let checkout = root.join("checkout");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::create_dir_all(checkout.join("target/release"))?;
    std::fs::create_dir_all(checkout.join("build"))?;
    for dir in ["plugins", "deploy"] {
        std::os::unix::fs::symlink(repo.join(dir).canonicalize()?, checkout.join(dir))?;
    }
    std::os::unix::fs::symlink(plugin_dir(), checkout.join("build/plugins"))?;
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_wasm_exporter"),
        checkout.join("target/release/wasm_exporter"),
    )?;
    let mut script = vec!["set -e".to_owned()];
    // /etc and /usr/local are private overlays: the steps write there as
    // they would on a host, and nothing reaches this machine's.
    for (dir, name) in [("/etc", "etc"), ("/usr/local", "usr")] {
        let (upper, work) = (
            root.join(format!("{name}-up")),
            root.join(format!("{name}-work")),
        );
        std::fs::create_dir_all(&upper)?;
        std::fs::create_dir_all(&work)?;
        script.push(format!(
            "mount -t overlay overlay -o lowerdir={dir},upperdir={},workdir={} {dir}",
            upper.display(),
            work.display()
        ));
    }
    script.push(format!("cd {}", checkout.display()));
    for step in &steps {
        if let Some(targets) = step.strip_prefix("make ") {
            for target in targets.split_whitespace() {
                match target {
                    // Built by this test run already.
                    "build" | "plugins" => {}
                    "man" => script.push(format!(
                        "{} build/man >/dev/null",
                        env!("CARGO_BIN_EXE_wasm_exporter-man")
                    )),
                    other => anyhow::bail!("an install step runs make {other}"),
                }
            }
        } else if step.starts_with("systemctl ") {
            // No systemd manager here; verify stands in for it below.
        } else {
            script.push(step.clone());
        }
    }
    script.push("systemd-analyze verify /etc/systemd/system/wasm_exporter.service".to_owned());
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(script.join("\n"))
        .output()
        .context("running unshare")?;
    let _ = std::fs::remove_dir_all(&root);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success() && stderr.trim().is_empty(),
        "the install steps, then systemd-analyze verify:\n{}\n{stderr}",
        script.join("\n")
    );
    Ok(())
}

#[test]
fn the_man_pages_render_without_warnings_and_name_only_pages_that_exist() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("wasm_exporter-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_wasm_exporter-man"))
        .arg(&dir)
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    pages.sort();
    ensure!(pages.len() == 5, "{pages:?}");
    for page in &pages {
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(page)
            .output()?;
        ensure!(
            out.status.success() && out.stderr.is_empty(),
            "{}: {}",
            page.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // What each page refers to, as man shows it.
        let shown = Command::new("man")
            .arg("-l")
            .arg(page)
            .env("MANWIDTH", "200")
            .output()?;
        let text = String::from_utf8_lossy(&shown.stdout);
        for word in text.split(|c: char| c.is_whitespace() || c == ',') {
            if let Some(name) = word
                .strip_suffix("(1)")
                .filter(|n| n.starts_with("wasm_exporter"))
            {
                ensure!(
                    dir.join(format!("{name}.1")).is_file(),
                    "{} names {name}(1), which is not generated",
                    page.display()
                );
            }
        }
    }
    let top = String::from_utf8_lossy(
        &Command::new("man")
            .arg("-l")
            .arg(dir.join("wasm_exporter.1"))
            .env("MANWIDTH", "200")
            .output()?
            .stdout,
    )
    .into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    for section in [
        "NAME.YML",
        "ENDPOINTS",
        "SIGNALS",
        "SIGHUP",
        "/-/reload",
        "/probe",
    ] {
        ensure!(
            top.contains(section),
            "{section} missing from wasm_exporter(1)"
        );
    }
    Ok(())
}
