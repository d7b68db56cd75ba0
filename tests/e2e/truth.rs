//! Every surface tells the truth: the landing page shows what the host
//! knows at once (a plugin that failed to load, a failed reload's error, a
//! collect's warning), and `POST /-/reload` says when a plugin failed.

use anyhow::Result;

use crate::support::*;

/// The landing page's row of `plugin`.
fn row(page: &str, plugin: &str) -> Option<String> {
    let cell = format!("<td class=\"plugin\">{plugin}</td>");
    let at = page.find(&cell)?;
    let start = page[..at].rfind("<tr")?;
    let end = at + page[at..].find("</tr>")?;
    Some(page[start..end].to_owned())
}

#[test]
fn a_plugin_that_failed_to_load_is_down_with_its_error_before_any_scrape() -> Result<()> {
    let dir = PluginsDir::new("truth-load");
    dir.add("healthy", "conformance", None);
    dir.write("broken.wasm", b"not a component");
    let e = Exporter::start(&dir.path, &[])?;
    let page = e.get("/", &[])?.text()?;
    let broken = row(&page, "broken").expect("a row for the broken plugin");
    assert!(broken.contains("class=\"down\""), "{broken}");
    assert!(broken.contains("<td class=\"state\">down</td>"), "{broken}");
    assert!(
        broken.contains("not a valid WebAssembly component"),
        "{broken}"
    );
    let healthy = row(&page, "healthy").expect("a row for the healthy plugin");
    assert!(healthy.contains("not collected yet"), "{healthy}");
    Ok(())
}

#[test]
fn a_fetch_warning_shows_while_the_plugin_is_up() -> Result<()> {
    let dir = PluginsDir::new("truth-warning");
    let closed = format!("http://127.0.0.1:{}/stats;csv", free_port()?);
    dir.add("haproxy", "haproxy", Some(&haproxy_yml(&closed, &closed)));
    let e = Exporter::start(&dir.path, &[])?;
    let body = e.scrape_text()?;
    assert_eq!(sample(&body, "haproxy_up"), Some(0.0));
    assert_eq!(plugin_up(&body, "haproxy"), Some(1.0));
    let page = e.get("/", &[])?.text()?;
    let haproxy = row(&page, "haproxy").expect("a row for haproxy");
    assert!(haproxy.contains("<td class=\"state\">up</td>"), "{haproxy}");
    assert!(haproxy.contains("warning: fetch failed: "), "{haproxy}");
    assert!(haproxy.contains("onnection refused"), "{haproxy}");
    Ok(())
}

#[test]
fn a_scrape_uri_outside_the_grants_is_reported_at_init() -> Result<()> {
    let dir = PluginsDir::new("truth-grants");
    let granted = format!("http://127.0.0.1:{}/stats;csv", free_port()?);
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let elsewhere = format!("http://{}/stats;csv", listener.local_addr()?);
    dir.add(
        "haproxy",
        "haproxy",
        Some(&haproxy_yml(&elsewhere, &granted)),
    );
    let e = Exporter::start(&dir.path, &[])?;
    let page = e.get("/", &[])?.text()?;
    let haproxy = row(&page, "haproxy").expect("a row for haproxy");
    assert!(
        haproxy.contains("<td class=\"state\">down</td>"),
        "{haproxy}"
    );
    assert!(
        haproxy.contains(&format!(
            "scrape_uri: {elsewhere} is not in the plugin&#39;s grants.fetch; add it to grants.fetch in NAME.yml"
        )) || haproxy.contains(&format!(
            "scrape_uri: {elsewhere} is not in the plugin's grants.fetch; add it to grants.fetch in NAME.yml"
        )),
        "{haproxy}"
    );
    let body = e.scrape_text()?;
    e.scrape_text()?;
    assert_eq!(plugin_up(&body, "haproxy"), Some(0.0), "{body}");
    match listener.accept() {
        Ok(_) => panic!("the ungranted scrape_uri was contacted"),
        Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock),
    }
    // Reported down once, at init; no denied fetch per scrape.
    assert!(e.logs_matching(&["fetch failed"]).is_empty());
    assert_eq!(
        e.logs_matching(&[
            "plugin down:",
            "plugin=haproxy",
            "is not in the plugin's grants.fetch"
        ])
        .len(),
        1,
        "{:#?}",
        e.logs_matching(&["plugin=haproxy"])
    );
    Ok(())
}

#[test]
fn a_reload_that_fails_answers_500_and_the_page_shows_why() -> Result<()> {
    let dir = PluginsDir::new("truth-reload");
    dir.add("a", "conformance", Some("config:\n  prefix: a\n"));
    let e = Exporter::start(
        &dir.path,
        &["--plugins.watch=false", "--web.enable-lifecycle"],
    )?;
    e.scrape_text()?;
    dir.write("a.wasm", b"not a component");
    let r = request(&e.addr, "POST", "/-/reload", &[("Content-Length", "0")])?;
    assert_eq!(r.status, 500, "{}", r.text()?);
    let text = r.text()?;
    assert!(text.contains("1 plugin files failed to load"), "{text}");
    assert!(text.contains("failed: a: "), "{text}");
    // The old version keeps serving; the page says what failed.
    let body = e.scrape_text()?;
    assert_eq!(plugin_up(&body, "a"), Some(1.0));
    let page = e.get("/", &[])?.text()?;
    let a = row(&page, "a").expect("a row for a");
    assert!(
        a.contains("reload failed (1 so far): ") && a.contains("not a valid WebAssembly component"),
        "{a}"
    );
    // A reload that works answers 200 again.
    dir.add("a", "conformance", Some("config:\n  prefix: a\n"));
    let r = request(&e.addr, "POST", "/-/reload", &[("Content-Length", "0")])?;
    assert_eq!(r.status, 200, "{}", r.text()?);
    Ok(())
}

#[test]
fn the_ready_line_counts_the_plugins_that_loaded_and_an_empty_directory_is_a_warning() -> Result<()>
{
    let dir = PluginsDir::new("truth-ready");
    dir.add("healthy", "conformance", None);
    dir.write("broken.wasm", b"not a component");
    let e = Exporter::start(&dir.path, &[])?;
    let ready = e.wait_for_log(&["plugins loaded, ready"]);
    assert!(ready[0].contains(" plugins=1 failed=1"), "{}", ready[0]);
    assert!(e.logs_matching(&["no plugins"]).is_empty());

    let empty = PluginsDir::new("truth-empty");
    let e = Exporter::start(&empty.path, &[])?;
    let ready = e.wait_for_log(&["plugins loaded, ready"]);
    assert!(ready[0].contains(" plugins=0 failed=0"), "{}", ready[0]);
    let warned = e.wait_for_log(&["no plugins", "level=WARN"]);
    assert_eq!(warned.len(), 1, "{warned:#?}");
    Ok(())
}

/// The conformance plugin, and haproxy as a module that answers `/probe`
/// (no HAProxy behind it: its probe counts are what matter).
fn conformance_and_a_prober(test: &str) -> Result<(PluginsDir, Exporter)> {
    let dir = PluginsDir::new(test);
    dir.add("conformance", "conformance", None);
    let grant = "http://*:*/stats;csv";
    dir.add(
        "haproxy",
        "haproxy",
        Some(&haproxy_yml("http://127.0.0.1:9/stats;csv", grant)),
    );
    let e = Exporter::start(&dir.path, &[])?;
    Ok((dir, e))
}

#[test]
fn collect_parameters_leave_out_other_modules_probe_counts() -> Result<()> {
    let (_dir, e) = conformance_and_a_prober("truth-collect")?;
    let probes = "wasm_exporter_probes_total{module=\"haproxy\"}";
    let all = e.scrape_text()?;
    assert_eq!(sample(&all, probes), Some(0.0), "{all}");
    let only = e.get("/metrics?collect[]=conformance", &[])?.text()?;
    assert_eq!(sample(&only, probes), None, "{only}");
    assert!(only.contains("wasm_exporter_build_info"), "{only}");
    let haproxy = e.get("/metrics?collect[]=haproxy", &[])?.text()?;
    assert_eq!(sample(&haproxy, probes), Some(0.0), "{haproxy}");
    Ok(())
}

#[test]
fn a_new_file_that_fails_is_down_and_no_failed_reload() -> Result<()> {
    let dir = PluginsDir::new("truth-new-broken");
    dir.add("a", "conformance", None);
    let e = Exporter::start(
        &dir.path,
        &["--plugins.watch=false", "--web.enable-lifecycle"],
    )?;
    dir.write("broken.wasm", b"not a component");
    let r = request(&e.addr, "POST", "/-/reload", &[("Content-Length", "0")])?;
    assert_eq!(r.status, 500, "{}", r.text()?);
    let body = e.scrape_text()?;
    assert_eq!(plugin_up(&body, "broken"), Some(0.0));
    assert_eq!(
        sample(
            &body,
            "wasm_exporter_plugin_errors_total{plugin=\"broken\",reason=\"load\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &body,
            "wasm_exporter_plugin_load_errors_total{plugin=\"broken\"}"
        ),
        Some(0.0)
    );
    let page = e.get("/", &[])?.text()?;
    let broken = row(&page, "broken").expect("a row for broken");
    assert!(
        broken.contains("not a valid WebAssembly component"),
        "{broken}"
    );
    assert!(!broken.contains("reload failed"), "{broken}");
    Ok(())
}

#[test]
fn each_failure_and_each_cause_is_logged_once() -> Result<()> {
    let dir = PluginsDir::new("truth-once");
    dir.add("healthy", "conformance", None);
    dir.write("broken.wasm", b"not a component");
    let e = Exporter::start(&dir.path, &[])?;
    e.scrape_text()?;
    e.scrape_text()?;
    let errors = e.logs_matching(&["level=ERROR", "plugin=broken"]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("plugin not loaded"), "{errors:#?}");

    // A cause is printed once, not once more as its own source.
    let missing = start_refused(std::path::Path::new("/nonexistent-plugins"), &[])?;
    assert_eq!(
        missing.matches("No such file or directory").count(),
        1,
        "{missing}"
    );
    let port = start_refused(&dir.path, &["--web.listen-address", ":99999"])?;
    assert!(
        port.contains("the port is out of range (0-65535)"),
        "{port}"
    );
    assert_eq!(port.matches(":99999").count(), 1, "{port}");
    let web = dir.path.join("web.yml");
    std::fs::write(&web, "tls_server_config:\n  certfile: x\n")?;
    let web = start_refused(&dir.path, &["--web.config.file", &web.to_string_lossy()])?;
    assert_eq!(web.matches("unknown field `certfile`").count(), 1, "{web}");
    assert!(web.contains("tls_server_config: unknown field"), "{web}");
    Ok(())
}

#[test]
fn config_mistakes_are_named_where_they_are() -> Result<()> {
    let dir = PluginsDir::new("truth-config");
    dir.add("slow", "conformance", Some("limits:\n  timeout: 1h\n"));
    dir.add("typo", "conformance", Some("config:\n  a: b: c\n"));
    dir.write("core.wasm", b"\0asm\x01\0\0\0");
    let e = Exporter::start(&dir.path, &[])?;
    let clamped = e.wait_for_log(&[
        "level=WARN",
        "plugin=slow",
        "limits.timeout 3600s is over --plugins.timeout 10s",
    ]);
    assert_eq!(clamped.len(), 1, "{clamped:#?}");
    let typo = e.wait_for_log(&["plugin not loaded", "plugin=typo"]);
    assert!(
        typo[0].contains("config: mapping values are not allowed"),
        "{}",
        typo[0]
    );
    assert!(!typo[0].contains(".?"), "{}", typo[0]);
    let core = e.wait_for_log(&["plugin not loaded", "plugin=core"]);
    assert!(
        core[0].contains("this is a core module, not a component"),
        "{}",
        core[0]
    );
    Ok(())
}

/// The README's tables, read back: the first cell of each row whose first
/// cell is code starting with `prefix`, and the row's cells.
fn readme_rows(prefix: &str) -> Result<Vec<Vec<String>>> {
    let readme = std::fs::read_to_string(tests_dir().join("../README.md"))?;
    Ok(readme
        .lines()
        .filter(|l| l.starts_with(&format!("| `{prefix}")))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect())
}

#[test]
fn the_readme_flags_table_is_what_help_lists() -> Result<()> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasm_exporter"))
        .arg("--help")
        .output()?;
    let help = String::from_utf8(out.stdout)?;
    let listed: std::collections::BTreeSet<String> = help
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l
                .strip_prefix("-V, ")
                .or(l.strip_prefix("-h, "))
                .unwrap_or(l);
            l.strip_prefix("--")
                .map(|f| format!("--{}", f.split([' ', '=', '<']).next().unwrap_or("")))
        })
        .filter(|f| f != "--help")
        .collect();
    let documented: std::collections::BTreeSet<String> = readme_rows("--")?
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    assert_eq!(documented, listed);
    Ok(())
}

/// The `--flags` a usage line names.
fn flags_in_usage(usage: &str) -> std::collections::BTreeSet<String> {
    usage
        .split(|c: char| c.is_whitespace() || c == '[' || c == ']')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(str::to_owned)
        .collect()
}

/// The `--flags` a `--help` lists as options (one per line), `--help`
/// aside.
fn options_listed(help: &str) -> std::collections::BTreeSet<String> {
    help.lines()
        .filter_map(|l| l.trim_start().strip_prefix("--"))
        .map(|f| format!("--{}", f.split([' ', '=', '<']).next().unwrap_or("")))
        .filter(|f| f != "--help")
        .collect()
}

#[test]
fn the_top_level_usage_names_every_flag_of_each_command() -> Result<()> {
    let help = |args: &[&str]| -> Result<String> {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasm_exporter"))
            .args(args)
            .output()?;
        Ok(String::from_utf8(out.stdout)?)
    };
    let top = help(&["--help"])?;
    // Flags every command takes (--log.*) are the top level's.
    let global = options_listed(&top);
    for command in [
        &["check"][..],
        &["plugin", "new"],
        &["plugin", "componentize"],
    ] {
        let prefix = format!("wasm_exporter {}", command.join(" "));
        let usage = top
            .lines()
            .find(|l| {
                l.trim_start()
                    .trim_start_matches("usage: ")
                    .starts_with(&prefix)
            })
            .unwrap_or_else(|| panic!("no usage line for {prefix}:\n{top}"));
        let mut args = command.to_vec();
        args.push("--help");
        let own: std::collections::BTreeSet<String> = options_listed(&help(&args)?)
            .difference(&global)
            .cloned()
            .collect();
        assert_eq!(flags_in_usage(usage), own, "{prefix}");
    }
    Ok(())
}

#[test]
fn the_readme_self_metrics_table_is_what_metrics_serves() -> Result<()> {
    let (_dir, e) = conformance_and_a_prober("truth-table")?;
    e.scrape_text()?;
    let text = e.scrape_text()?;
    let om = e.scrape_openmetrics()?;
    let host = |name: &str| {
        ["wasm_exporter_", "promhttp_"]
            .iter()
            .any(|p| name.starts_with(p))
    };
    // Served: every host family with its OpenMetrics type and its labels.
    let mut served = std::collections::BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split(' ').nth(2).unwrap_or("").to_owned();
        if !host(&name) {
            continue;
        }
        // OpenMetrics names a counter without `_total`, an info without
        // `_info`.
        let base = name
            .strip_suffix("_total")
            .or_else(|| name.strip_suffix("_info"))
            .unwrap_or(&name);
        let om_type = om
            .lines()
            .find_map(|l| l.strip_prefix(&format!("# TYPE {base} ")))
            .unwrap_or("?")
            .to_owned();
        let sample = text
            .lines()
            .find(|l| !l.starts_with('#') && l.starts_with(name.as_str()))
            .unwrap_or("");
        let labels: Vec<String> = sample
            .split_once('{')
            .map(|(_, rest)| {
                rest.split("\",")
                    .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_owned()))
                    .filter(|k| k != "le")
                    .collect()
            })
            .unwrap_or_default();
        served.insert(name, (om_type, labels.join(", ")));
    }
    let mut documented = std::collections::BTreeMap::new();
    for prefix in ["wasm_exporter_", "promhttp_"] {
        for row in readme_rows(prefix)? {
            let kind = row[1].split(' ').next().unwrap_or("").to_owned();
            let labels = row[2].replace('`', "");
            documented.insert(row[0].clone(), (kind, labels));
        }
    }
    assert_eq!(documented, served);
    Ok(())
}

#[test]
fn a_large_plugin_compiled_in_a_child_fails_with_its_cause_once() -> Result<()> {
    // Over 1 MiB: compiled in a child process. A core module's header,
    // then garbage.
    let dir = PluginsDir::new("truth-child-compile");
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.resize(2 << 20, 0x42);
    dir.write("big.wasm", &bytes);
    dir.add("healthy", "conformance", None);
    let e = Exporter::start(&dir.path, &[])?;
    let page = e.get("/", &[])?.text()?;
    let big = row(&page, "big").expect("a row for big");
    assert!(big.contains("<td class=\"state\">down</td>"), "{big}");
    assert_eq!(
        big.matches("not a valid WebAssembly component").count(),
        1,
        "{big}"
    );
    assert!(
        big.contains("this is a core module, not a component"),
        "{big}"
    );
    let body = e.scrape_text()?;
    assert_eq!(plugin_up(&body, "healthy"), Some(1.0));
    Ok(())
}
