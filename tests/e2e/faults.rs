//! A bad plugin never costs the others their data: traps, broken files,
//! deadlines, clashes; and recovery once the fault clears.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;

use crate::support::*;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_secs_f64()
}

fn errors(body: &str, plugin: &str, reason: &str) -> f64 {
    sample(
        body,
        &format!("wasm_exporter_plugin_errors_total{{plugin=\"{plugin}\",reason=\"{reason}\"}}"),
    )
    .unwrap_or(-1.0)
}

#[test]
fn trapping_plugin_is_down_while_the_healthy_one_serves_and_both_recover() -> Result<()> {
    let dir = PluginsDir::new("trap-collect");
    // The trap plugin panics in collect for the next 4 seconds, then heals.
    let until = now() + 4.0;
    dir.add("conformance", "conformance", None).add(
        "trap",
        "trap",
        Some(&format!(
            "config:\n  stage: collect\n  until_unix_seconds: {until}\n"
        )),
    );
    let exporter = Exporter::start(&dir.path, &[])?;

    let body = exporter.scrape_text()?;
    assert_eq!(plugin_up(&body, "trap"), Some(0.0));
    assert_eq!(plugin_up(&body, "conformance"), Some(1.0));
    assert!(errors(&body, "trap", "trap") >= 1.0, "{body}");
    assert!(
        sample(&body, "conformance_collects_total").is_some(),
        "healthy plugin's data missing"
    );
    assert!(sample(&body, "trap_healthy_collects_total").is_none());

    // Each scrape re-instantiates the trapped plugin; once the fault window
    // closes it comes back, with a fresh instance (its counter starts at 1).
    let healed = eventually(Duration::from_secs(20), || {
        let body = exporter.scrape_text()?;
        Ok((plugin_up(&body, "trap") == Some(1.0)).then_some(body))
    })?;
    assert_eq!(plugin_up(&healed, "conformance"), Some(1.0));
    assert_eq!(sample(&healed, "trap_healthy_collects_total"), Some(1.0));
    assert!(errors(&healed, "trap", "trap") >= 1.0);

    // The panic message reached the log, tagged with the plugin, and the
    // state changes were logged once each rather than once per scrape.
    exporter.wait_for_log(&["deliberate panic in collect", "plugin=trap"]);
    exporter.wait_for_log(&["plugin up", "plugin=trap"]);
    assert_eq!(
        exporter
            .logs_matching(&["plugin down", "plugin=trap"])
            .len(),
        1,
        "{:#?}",
        exporter.logs()
    );
    assert_eq!(
        exporter.logs_matching(&["plugin up", "plugin=trap"]).len(),
        1
    );
    Ok(())
}

#[test]
fn trap_in_init_is_retried_with_exponential_backoff() -> Result<()> {
    let dir = PluginsDir::new("trap-init");
    dir.add("conformance", "conformance", None).add(
        "trap",
        "trap",
        Some("config:\n  stage: init\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    // Two attempts in a row (at start, and at the first scrape), then a
    // backoff of 1 s (doubling after each further failure): the scrapes
    // right after do not run init again.
    for (scrape, attempts) in [(1, 2.0), (2, 2.0), (3, 2.0)] {
        let body = exporter.scrape_text()?;
        assert_eq!(plugin_up(&body, "trap"), Some(0.0), "scrape {scrape}");
        assert_eq!(plugin_up(&body, "conformance"), Some(1.0));
        assert_eq!(errors(&body, "trap", "trap"), attempts, "scrape {scrape}");
    }
    exporter.wait_for_log(&["deliberate panic in init", "plugin=trap"]);
    exporter.wait_for_log(&["plugin still down", "next attempt in", "plugin=trap"]);
    // Once the backoff has passed, init runs again (and fails again).
    let third = eventually(Duration::from_secs(10), || {
        let body = exporter.scrape_text()?;
        Ok((errors(&body, "trap", "trap") == 3.0).then_some(body))
    })?;
    assert_eq!(plugin_up(&third, "trap"), Some(0.0));
    Ok(())
}

#[test]
fn broken_files_are_reported_down_with_a_log_line_naming_them() -> Result<()> {
    let dir = PluginsDir::new("broken-files");
    dir.add("conformance", "conformance", None)
        .add(
            "badyaml",
            "conformance",
            Some("config: [unclosed\nlimits: {memory: 1MiB\n"),
        )
        .add("typo", "conformance", Some("limits:\n  memroy: 1MiB\n"))
        .write("notwasm.wasm", b"this is not WebAssembly")
        // A core module is wasm, but not a component.
        .write("coremodule.wasm", b"\0asm\x01\0\0\0");
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    for bad in ["badyaml", "typo", "notwasm", "coremodule"] {
        assert_eq!(plugin_up(&body, bad), Some(0.0), "{bad}");
        assert_eq!(errors(&body, bad, "load"), 1.0, "{bad}");
        let file = if bad.ends_with("yaml") || bad == "typo" {
            format!("{bad}.yml")
        } else {
            format!("{bad}.wasm")
        };
        exporter.wait_for_log(&["plugin not loaded", &file]);
        assert_eq!(
            exporter.logs_matching(&["plugin not loaded", &file]).len(),
            1
        );
    }
    exporter.wait_for_log(&[
        "plugin not loaded",
        "typo.yml",
        "unknown field `memroy`",
        "line 2 column 3",
    ]);
    assert_eq!(plugin_up(&body, "conformance"), Some(1.0));
    assert!(sample(&body, "conformance_collects_total").is_some());
    Ok(())
}

#[test]
fn bad_config_is_refused_by_init() -> Result<()> {
    let dir = PluginsDir::new("bad-config");
    dir.add(
        "conformance",
        "conformance",
        Some("config:\n  prefix: 42\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(plugin_up(&body, "conformance"), Some(0.0));
    // Tried at start and once more at the first scrape.
    assert_eq!(errors(&body, "conformance", "init"), 2.0);
    exporter.wait_for_log(&["init rejected the config", "plugin=conformance"]);
    Ok(())
}

#[test]
fn a_bare_number_as_a_duration_is_refused_naming_the_key_in_limits_and_config() -> Result<()> {
    let dir = PluginsDir::new("bare-durations");
    dir.add("conformance", "conformance", None)
        .add(
            "in-config",
            "haproxy",
            Some("config:\n  scrape_uri: http://127.0.0.1:9/\n  timeout: 10\n"),
        )
        .add("in-limits", "conformance", Some("limits:\n  timeout: 10\n"));
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(plugin_up(&body, "conformance"), Some(1.0));
    // The same grammar and the same words on both sides of the boundary.
    assert_eq!(plugin_up(&body, "in-config"), Some(0.0));
    assert_eq!(errors(&body, "in-config", "init"), 2.0);
    exporter.wait_for_log(&[
        "plugin=in-config",
        "config.timeout: invalid duration 10: a number needs a unit",
    ]);
    assert_eq!(plugin_up(&body, "in-limits"), Some(0.0));
    assert_eq!(errors(&body, "in-limits", "load"), 1.0);
    exporter.wait_for_log(&[
        "plugin=in-limits",
        "limits.timeout: invalid duration 10: a number needs a unit",
    ]);
    Ok(())
}

#[test]
fn a_plugin_past_its_deadline_is_timed_out_and_the_scrape_still_answers() -> Result<()> {
    let dir = PluginsDir::new("deadline");
    dir.add("conformance", "conformance", None).add(
        "slow",
        "conformance",
        Some("config:\n  prefix: slow\n  sleep_ms: 60000\nlimits:\n  timeout: 1s\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(plugin_up(&body, "slow"), Some(0.0));
    assert_eq!(errors(&body, "slow", "timeout"), 1.0);
    assert_eq!(plugin_up(&body, "conformance"), Some(1.0));
    let took = sample(
        &body,
        "wasm_exporter_plugin_collect_duration_seconds{plugin=\"slow\"}",
    )
    .expect("the slow plugin's duration");
    // Bounded by the deadline (plus the backstop grace), far below the sleep.
    assert!(took < 30.0, "collect of a 60 s sleeper took {took} s");
    Ok(())
}

#[test]
fn plugins_are_collected_concurrently() -> Result<()> {
    let dir = PluginsDir::new("concurrent");
    dir.add(
        "a",
        "conformance",
        Some("config:\n  prefix: a\n  sleep_ms: 1500\n"),
    )
    .add(
        "b",
        "conformance",
        Some("config:\n  prefix: b\n  sleep_ms: 1500\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    let edge = |p: &str, e: &str| {
        sample(
            &body,
            &format!("{p}_collect_window_seconds{{edge=\"{e}\"}}"),
        )
        .expect("a collect window edge")
    };
    let (a0, a1, b0, b1) = (
        edge("a", "start"),
        edge("a", "end"),
        edge("b", "start"),
        edge("b", "end"),
    );
    // Each collect sleeps; run one after the other, the windows could not overlap.
    assert!(
        a0 < b1 && b0 < a1,
        "collect windows do not overlap: a=[{a0}, {a1}] b=[{b0}, {b1}]"
    );
    Ok(())
}

#[test]
fn same_family_from_two_plugins_is_kept_once_and_the_clash_counted() -> Result<()> {
    let dir = PluginsDir::new("clash");
    // Same prefix: every family of `second` repeats series of `first`, so
    // nothing of it is served and it is reported down.
    dir.add("first", "conformance", None)
        .add("second", "conformance", None);
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(plugin_up(&body, "second"), Some(0.0));
    assert_eq!(plugin_up(&body, "first"), Some(1.0));
    assert_eq!(errors(&body, "second", "name_clash"), 1.0);
    assert_eq!(errors(&body, "first", "name_clash"), 0.0);
    assert_eq!(
        sample(&body, "wasm_exporter_plugin_series{plugin=\"second\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &body,
            "wasm_exporter_plugin_dropped_families{plugin=\"second\"}"
        ),
        Some(11.0)
    );
    assert_eq!(body.matches("\nconformance_mystery ").count(), 1);
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &body)?;
    assert!(ok, "{out}");
    Ok(())
}

#[test]
fn the_sandbox_grants_no_environment_filesystem_or_network() -> Result<()> {
    let dir = PluginsDir::new("sandbox");
    dir.add(
        "probe",
        "conformance",
        Some("config:\n  prefix: probe\n  probe_sandbox: true\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    for what in [
        "env",
        "args",
        "fs_root",
        "fs_etc_passwd",
        "fs_write",
        "tcp_loopback",
        "udp",
        "dns",
    ] {
        let series = format!("probe_sandbox_access{{what=\"{what}\"}}");
        assert_eq!(
            sample(&body, &series),
            Some(0.0),
            "{what} is reachable from a plugin:\n{body}"
        );
    }
    Ok(())
}

#[test]
fn a_plugin_over_its_memory_limit_is_reported_as_memory() -> Result<()> {
    let dir = PluginsDir::new("memory");
    dir.add("conformance", "conformance", None)
        .add(
            "hungry",
            "conformance",
            Some(
                "config:\n  prefix: hungry\n  allocate_bytes: 67108864\nlimits:\n  memory: 16MiB\n",
            ),
        )
        .add(
            "fits",
            "conformance",
            Some("config:\n  prefix: fits\n  allocate_bytes: 4194304\nlimits:\n  memory: 16MiB\n"),
        );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(plugin_up(&body, "hungry"), Some(0.0));
    assert_eq!(errors(&body, "hungry", "memory"), 1.0, "{body}");
    assert_eq!(plugin_up(&body, "fits"), Some(1.0));
    assert_eq!(plugin_up(&body, "conformance"), Some(1.0));
    exporter.wait_for_log(&[
        "plugin down",
        "memory limit of 16777216 bytes exceeded",
        "plugin=hungry",
    ]);
    Ok(())
}

#[test]
fn the_scrape_timeout_header_shortens_the_deadline() -> Result<()> {
    let dir = PluginsDir::new("scrape-timeout");
    // Sleeps 4 s; its own limit (and the host's) is 10 s.
    dir.add(
        "slow",
        "conformance",
        Some("config:\n  prefix: slow\n  sleep_ms: 4000\n"),
    );
    let exporter = Exporter::start(&dir.path, &["--web.timeout-offset", "500ms"])?;
    // Prometheus says it gives up after 2 s: the plugin gets 1.5 s.
    let r = exporter.get("/metrics", &[("X-Prometheus-Scrape-Timeout-Seconds", "2")])?;
    assert_eq!(r.status, 200);
    let body = r.text()?;
    assert_eq!(plugin_up(&body, "slow"), Some(0.0));
    assert_eq!(errors(&body, "slow", "timeout"), 1.0);
    let took = sample(
        &body,
        "wasm_exporter_plugin_collect_duration_seconds{plugin=\"slow\"}",
    )
    .expect("the slow plugin's duration");
    assert!(
        took < 4.0,
        "the plugin ran {took} s, past the scrape's deadline"
    );
    // Without the header the plugin has its full 10 s and succeeds.
    let body = eventually(Duration::from_secs(30), || {
        let body = exporter.scrape_text()?;
        Ok((plugin_up(&body, "slow") == Some(1.0)).then_some(body))
    })?;
    assert!(sample(&body, "slow_collects_total").is_some());
    Ok(())
}

#[test]
fn a_million_series_within_the_limits_are_served() -> Result<()> {
    // Lifting a million series makes the host allocate more than wasmtime's
    // default 128 MiB per call; a plugin inside its own memory limit and
    // max_series must not trap on that.
    let dir = PluginsDir::new("million");
    dir.add(
        "bulk",
        "conformance",
        Some("config:\n  prefix: bulk\n  bulk_series: 1000000\nlimits:\n  memory: 1GiB\n  max_series: 1100000\n  timeout: 60s\n"),
    );
    let exporter = Exporter::start(&dir.path, &["--plugins.timeout", "60s"])?;
    let body = exporter.scrape_text()?;
    assert_eq!(
        plugin_up(&body, "bulk"),
        Some(1.0),
        "{}",
        exporter.logs().join("\n")
    );
    let series = sample(&body, "wasm_exporter_plugin_series{plugin=\"bulk\"}");
    assert!(series.is_some_and(|n| n >= 1_000_000.0), "{series:?}");
    assert!(body.contains("bulk_bulk{shard=\"0009999\",id=\"series-000999999\"}"));
    Ok(())
}

#[test]
fn a_plugin_cannot_pass_for_the_host() -> Result<()> {
    let dir = PluginsDir::new("spoof");
    dir.add("conformance", "conformance", None).add(
        "spoofer",
        "faulty",
        Some("config:\n  fault: spoof_host_beside_data\n"),
    );
    let exporter = Exporter::start(&dir.path, &["--plugins.watch=false"])?;
    let mut body = String::new();
    for _ in 0..3 {
        body = exporter.scrape_text()?;
    }
    // Nothing of the spoofed families is served, and the host's own are.
    assert!(!body.contains("plugin=\"other\""), "{body}");
    assert_eq!(body.matches("\nprocess_cpu_seconds_total ").count(), 1);
    assert_eq!(sample(&body, "spoofer_alive"), Some(1.0));
    // The plugin keeps what is its own, and the spoofing is counted.
    assert_eq!(plugin_up(&body, "spoofer"), Some(1.0));
    assert_eq!(
        sample(&body, "wasm_exporter_plugin_series{plugin=\"spoofer\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &body,
            "wasm_exporter_plugin_dropped_families{plugin=\"spoofer\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        errors(&body, "spoofer", "name_clash"),
        3.0,
        "one per collect"
    );
    assert_eq!(errors(&body, "conformance", "name_clash"), 0.0);
    // Logged once, naming the rule, not once per scrape.
    let lines = exporter.wait_for_log(&["dropped 2 families", "plugin=spoofer"]);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("served by the host itself"),
        "{}",
        lines[0]
    );
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &body)?;
    assert!(ok, "{out}");
    Ok(())
}

#[test]
fn two_hundred_thousand_families_are_refused_by_the_family_cap() -> Result<()> {
    let dir = PluginsDir::new("families");
    dir.add("conformance", "conformance", None).add(
        "families",
        "faulty",
        Some("config:\n  fault: too_many_families\n  families: 200000\nlimits:\n  memory: 512MiB\n  timeout: 30s\n"),
    );
    let exporter = Exporter::start(&dir.path, &["--plugins.timeout", "30s"])?;
    let body = exporter.scrape_text()?;
    assert_eq!(plugin_up(&body, "families"), Some(0.0));
    assert_eq!(
        errors(&body, "families", "too_many_families"),
        1.0,
        "{body}"
    );
    assert!(!body.contains("family_1 "), "refused families were served");
    assert_eq!(plugin_up(&body, "conformance"), Some(1.0));
    exporter.wait_for_log(&[
        "plugin down",
        "returned 200000 families, over the limit of 10000",
        "plugin=families",
    ]);
    Ok(())
}

#[test]
fn a_raised_family_cap_serves_what_the_default_refuses() -> Result<()> {
    let dir = PluginsDir::new("families-raised");
    dir.add(
        "families",
        "faulty",
        Some("config:\n  fault: too_many_families\n  families: 12000\nlimits:\n  max_families: 12000\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(
        plugin_up(&body, "families"),
        Some(1.0),
        "{}",
        exporter.logs().join("\n")
    );
    assert_eq!(
        sample(&body, "wasm_exporter_plugin_series{plugin=\"families\"}"),
        Some(12000.0)
    );
    assert_eq!(sample(&body, "family_11999"), Some(1.0));
    Ok(())
}

#[test]
fn each_plugin_s_memory_and_cpu_are_reported() -> Result<()> {
    let dir = PluginsDir::new("usage");
    dir.add(
        "big",
        "conformance",
        Some("config:\n  prefix: big\n  allocate_bytes: 8388608\n  bulk_series: 20000\n"),
    )
    .add("small", "conformance", Some("config:\n  prefix: small\n"));
    let exporter = Exporter::start(&dir.path, &[])?;
    let value = |body: &str, name: &str, p: &str| {
        sample(body, &format!("{name}{{plugin=\"{p}\"}}")).expect(name)
    };
    let first = exporter.scrape_text()?;
    let second = exporter.scrape_text()?;
    let big = value(&second, "wasm_exporter_plugin_memory_bytes", "big");
    let small = value(&second, "wasm_exporter_plugin_memory_bytes", "small");
    // The 8 MiB it holds, which the small one does not.
    assert!(big >= 8.0 * 1048576.0, "big has {big} bytes");
    assert!(small < big, "small {small}, big {big}");
    assert!(value(&second, "wasm_exporter_plugin_memory_peak_bytes", "big") >= big);
    // CPU is counted per collect and only grows.
    let cpu = |body: &str| value(body, "wasm_exporter_plugin_cpu_seconds_total", "big");
    assert!(cpu(&first) > 0.0, "{first}");
    assert!(
        cpu(&second) > cpu(&first),
        "{} then {}",
        cpu(&first),
        cpu(&second)
    );
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &second)?;
    assert!(ok, "{out}");
    Ok(())
}
