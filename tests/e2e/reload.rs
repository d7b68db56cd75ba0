//! Hot reload through the real binary: add, replace, break, reconfigure and
//! remove plugins without a restart, triggered by the directory watch,
//! SIGHUP and `POST /-/reload`.

use anyhow::Result;

use crate::support::*;

fn prefix_yml(prefix: &str) -> String {
    format!("config:\n  prefix: {prefix}\n")
}

/// Sends SIGHUP, which reloads the plugins.
fn sighup(e: &Exporter) -> Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &e.pid().to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill -HUP: {status}");
    Ok(())
}

fn collects(body: &str, prefix: &str) -> Option<f64> {
    sample(body, &format!("{prefix}_collects_total"))
}

#[test]
fn the_directory_watch_adds_replaces_and_removes_plugins() -> Result<()> {
    let dir = PluginsDir::new("reload-watch");
    dir.add("a", "conformance", Some(&prefix_yml("a")));
    let e = Exporter::start(&dir.path, &[])?;
    assert!(collects(&e.scrape_text()?, "a").is_some());

    // Added: b appears, a keeps its instance (its counter goes on).
    dir.add("b", "conformance", Some(&prefix_yml("b")));
    let body = scrape_until(&e, "b added", |b| collects(b, "b").is_some())?;
    assert!(
        collects(&body, "a").is_some_and(|n| n >= 2.0),
        "a was restarted"
    );

    // A NAME.yml change reloads that plugin alone.
    let a_before = collects(&e.scrape_text()?, "a").expect("a's collect counter");
    dir.write("b.yml", prefix_yml("renamed").as_bytes());
    let body = scrape_until(&e, "b reconfigured", |b| collects(b, "renamed").is_some())?;
    assert!(collects(&body, "b").is_none(), "old b series still served");
    assert!(
        collects(&body, "a").is_some_and(|n| n > a_before),
        "a was reloaded too"
    );

    // Removed: its series go with it.
    std::fs::remove_file(dir.path.join("b.wasm"))?;
    let body = scrape_until(&e, "b removed", |b| collects(b, "renamed").is_none())?;
    assert!(
        !body.contains("plugin=\"b\""),
        "self-metrics of b still served"
    );
    e.wait_for_log(&["plugin removed", "plugin=b"]);
    Ok(())
}

#[test]
fn a_plugin_added_while_the_plugins_load_is_served_once_they_have() -> Result<()> {
    // The Python plugin takes seconds to compile; b comes after the
    // directory was read (a has loaded) and before the exporter is ready.
    let dir = PluginsDir::new("reload-while-loading");
    dir.add("a", "conformance", Some(&prefix_yml("a"))).add(
        "slow",
        "conformance-py",
        Some(&prefix_yml("slow")),
    );
    let e = Exporter::start_meanwhile(&dir.path, &[], |e| {
        e.wait_for_log(&["plugin loaded", "plugin=a"]);
        assert!(e.logs_matching(&["plugins loaded, ready"]).is_empty());
        dir.add("b", "conformance", Some(&prefix_yml("b")));
    })?;
    scrape_until(&e, "b added while loading", |b| collects(b, "b").is_some())?;
    e.wait_for_log(&["plugin added", "b.wasm"]);
    Ok(())
}

#[test]
fn a_sighup_while_the_plugins_load_reloads_once_they_have() -> Result<()> {
    // SIGHUP's default action ends the process; the exporter takes it
    // before it says where it listens.
    let dir = PluginsDir::new("reload-hup-while-loading");
    dir.add("slow", "conformance-py", Some(&prefix_yml("slow")));
    let e = Exporter::start_meanwhile(&dir.path, &["--plugins.watch=false"], |e| {
        sighup(e).expect("kill -HUP");
    })?;
    e.wait_for_log(&["received SIGHUP, reloading"]);
    let body = e.scrape_text()?;
    assert!(collects(&body, "slow").is_some());
    Ok(())
}

#[test]
fn a_broken_new_version_leaves_the_old_one_serving() -> Result<()> {
    let dir = PluginsDir::new("reload-broken");
    dir.add("a", "conformance", Some(&prefix_yml("a"))).add(
        "c",
        "conformance",
        Some(&prefix_yml("c")),
    );
    let e = Exporter::start(&dir.path, &[])?;
    e.scrape_text()?;

    // A .wasm that does not compile.
    dir.write("a.wasm", b"not a component");
    let body = scrape_until(&e, "load error counted", |b| {
        sample(b, "wasm_exporter_plugin_load_errors_total{plugin=\"a\"}") == Some(1.0)
    })?;
    assert_eq!(
        sample(&body, "wasm_exporter_plugin_up{plugin=\"a\"}"),
        Some(1.0)
    );
    assert!(collects(&body, "a").is_some(), "the old a stopped serving");
    e.wait_for_log(&["reload failed, the old version keeps serving", "plugin=a"]);
    let landing = e.get("/", &[])?.text()?;
    assert!(landing.contains("reload failed (1 so far): "), "{landing}");

    // A config that init refuses: the old c keeps serving too.
    dir.write("c.yml", b"config:\n  prefix: ''\n");
    let body = scrape_until(&e, "init failure counted", |b| {
        sample(b, "wasm_exporter_plugin_load_errors_total{plugin=\"c\"}") == Some(1.0)
    })?;
    assert!(collects(&body, "c").is_some(), "the old c stopped serving");
    assert_eq!(
        sample(&body, "wasm_exporter_plugin_up{plugin=\"c\"}"),
        Some(1.0)
    );
    Ok(())
}

#[test]
fn sighup_and_post_reload_without_the_watch() -> Result<()> {
    let dir = PluginsDir::new("reload-manual");
    dir.add("a", "conformance", Some(&prefix_yml("a")));
    let e = Exporter::start(
        &dir.path,
        &["--plugins.watch=false", "--web.enable-lifecycle"],
    )?;

    // A control that watches the same directory: once it has loaded `b`,
    // the change was there to be seen, and `e` must not have reloaded.
    let control = Exporter::start(&dir.path, &[])?;
    dir.add("b", "conformance", Some(&prefix_yml("b")));
    scrape_until(&control, "b added by the watching control", |b| {
        collects(b, "b").is_some()
    })?;
    assert!(
        collects(&e.scrape_text()?, "b").is_none(),
        "reloaded without a trigger"
    );
    let r = request(&e.addr, "POST", "/-/reload", &[("Content-Length", "0")])?;
    assert_eq!(r.status, 200);
    assert!(r.text()?.contains("added: b"), "{}", r.text()?);
    assert!(collects(&e.scrape_text()?, "b").is_some());
    assert_eq!(e.get("/-/reload", &[])?.status, 405);

    dir.add("c", "conformance", Some(&prefix_yml("c")));
    sighup(&e)?;
    scrape_until(&e, "c added on SIGHUP", |b| collects(b, "c").is_some())?;
    Ok(())
}

#[test]
fn post_reload_is_refused_without_the_lifecycle_flag_and_sighup_still_works() -> Result<()> {
    let dir = PluginsDir::new("reload-lifecycle");
    dir.add("a", "conformance", Some(&prefix_yml("a")));
    let e = Exporter::start(&dir.path, &["--plugins.watch=false"])?;
    dir.add("b", "conformance", Some(&prefix_yml("b")));
    let r = request(&e.addr, "POST", "/-/reload", &[("Content-Length", "0")])?;
    assert_eq!(r.status, 403);
    assert!(
        r.text()?.contains("--web.enable-lifecycle"),
        "{}",
        r.text()?
    );
    assert!(
        collects(&e.scrape_text()?, "b").is_none(),
        "a refused reload reloaded"
    );
    sighup(&e)?;
    scrape_until(&e, "b added on SIGHUP", |b| collects(b, "b").is_some())?;
    Ok(())
}

#[test]
fn config_values_from_files_are_read_at_load_and_reload_and_never_shown() -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = PluginsDir::new("config-files");
    let secret = dir.path.join("prefix.secret");
    let write_secret = |value: &str, mode: u32| -> Result<()> {
        std::fs::write(&secret, format!("{value}\n"))?;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(mode))?;
        Ok(())
    };
    write_secret("hushhush", 0o600)?;
    dir.add(
        "a",
        "conformance",
        Some("config_files:\n  prefix: prefix.secret\n"),
    );
    let e = Exporter::start(&dir.path, &["--plugins.watch=false"])?;
    assert!(collects(&e.scrape_text()?, "hushhush").is_some());
    // A changed file is read again on reload.
    write_secret("rotated", 0o600)?;
    sighup(&e)?;
    scrape_until(&e, "the new value read", |b| {
        collects(b, "rotated").is_some()
    })?;
    let landing = e.get("/", &[])?.text()?;
    assert!(
        !landing.contains("rotated") && !landing.contains("hushhush"),
        "{landing}"
    );
    // A file others can read is refused, naming the key and the file, and
    // the old version keeps serving.
    write_secret("leaked", 0o644)?;
    sighup(&e)?;
    let lines = e.wait_for_log(&["config_files.prefix", "readable by others"]);
    assert!(lines[0].contains("prefix.secret"), "{}", lines[0]);
    assert!(collects(&e.scrape_text()?, "rotated").is_some());
    for line in e.logs() {
        for value in ["hushhush", "rotated", "leaked"] {
            assert!(!line.contains(value), "a value was logged: {line}");
        }
    }
    Ok(())
}
