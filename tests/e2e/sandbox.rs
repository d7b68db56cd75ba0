//! The sandbox, round two: plugins hostile in one way each, beside a
//! healthy one, through the real binary. The healthy plugin stays up with
//! its own values, the host's self-metrics stay the host's, every format
//! still parses, and the bad plugin is reported with a reason.

use anyhow::Result;

use crate::support::*;

#[test]
fn a_prober_of_the_wrong_type_is_refused_at_load_naming_the_export() -> Result<()> {
    let dir = PluginsDir::new("sandbox-bad-prober");
    dir.add("conformance", "conformance", None);
    dir.add("bad-prober", "bad-prober", None);
    let e = Exporter::start(&dir.path, &[])?;
    let body = e.scrape_text()?;
    assert_eq!(plugin_up(&body, "conformance"), Some(1.0));
    assert_eq!(plugin_up(&body, "bad-prober"), Some(0.0));
    assert_eq!(
        sample(
            &body,
            "wasm_exporter_plugin_errors_total{plugin=\"bad-prober\",reason=\"load\"}"
        ),
        Some(1.0)
    );
    let refused = e.wait_for_log(&[
        "plugin not loaded",
        "wasm-exporter:plugin/prober@0.2.0: probe has the wrong type",
    ]);
    assert_eq!(refused.len(), 1, "{refused:#?}");
    // Not a module that probes: /probe says why, and probes nothing.
    let r = e.get("/probe?module=bad-prober&target=http://127.0.0.1:9/", &[])?;
    assert_eq!(r.status, 503, "{}", r.text()?);
    assert!(
        r.text()?.contains("probe has the wrong type"),
        "{}",
        r.text()?
    );
    assert!(
        !body.contains("wasm_exporter_probes_total{module=\"bad-prober\"}"),
        "{body}"
    );
    Ok(())
}

/// Every format the exporter serves, as a scraper gets it by default,
/// parses: text with promtool and Python's parser, OpenMetrics with
/// Python's, protobuf with the independent decoder. The bodies.
fn every_format_parses(e: &Exporter) -> Result<(String, String, String)> {
    let text = e.scrape_text()?;
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &text)?;
    assert!(ok, "promtool check metrics:\n{out}\n{text}");
    crate::exposition::python_parse("text", &text)?;
    let om = e.scrape_openmetrics()?;
    crate::exposition::python_parse("openmetrics", &om)?;
    let r = e.get(
        "/metrics",
        &[("Accept", crate::scrapers::PROMETHEUS_2_42_NATIVE)],
    )?;
    assert_eq!(r.status, 200);
    let pb = crate::protobuf::decode_protobuf(&r.body, false)?;
    Ok((text, om, pb))
}

fn errors(body: &str, plugin: &str, reason: &str) -> Option<f64> {
    sample(
        body,
        &format!("wasm_exporter_plugin_errors_total{{plugin=\"{plugin}\",reason=\"{reason}\"}}"),
    )
}

#[test]
fn names_that_become_the_host_s_once_escaped_never_replace_the_host_s() -> Result<()> {
    let dir = PluginsDir::new("sandbox-spoof");
    dir.add(
        "healthy",
        "conformance",
        Some("config:\n  prefix: healthy\n"),
    );
    dir.add(
        "spoofer",
        "faulty",
        Some("config:\n  fault: spoof_escaped\n"),
    );
    let e = Exporter::start(&dir.path, &[])?;
    let (text, _, pb) = every_format_parses(&e)?;
    // The host's own families, not the plugin's.
    assert_eq!(plugin_up(&text, "healthy"), Some(1.0), "{text}");
    assert_eq!(plugin_up(&text, "spoofer"), Some(1.0), "{text}");
    assert_eq!(plugin_up(&text, "ghost"), None, "{text}");
    let rss = sample(&text, "process_resident_memory_bytes").expect("the host's RSS");
    assert!(rss > f64::from(1u32 << 20), "forged RSS {rss}");
    assert!(!text.contains("forged"), "{text}");
    assert!(
        text.contains("wasm_exporter_plugin_series{plugin=\"healthy\"}")
            && sample(&text, "wasm_exporter_plugin_series{plugin=\"healthy\"}") != Some(0.0),
        "{text}"
    );
    assert!(!pb.contains("forged"), "{pb}");
    // Its own family is served; each forgery dropped as a clash, counted
    // once per collect.
    assert_eq!(sample(&text, "spoofer_alive"), Some(1.0));
    assert_eq!(errors(&text, "spoofer", "name_clash"), Some(1.0));
    let dropped = e.wait_for_log(&["dropped 4 families", "plugin=spoofer"]);
    assert!(
        dropped[0].contains(
            "wasm_exporter.plugin_up is wasm_exporter_plugin_up under escaping=underscores"
        ),
        "{dropped:#?}"
    );
    Ok(())
}

#[test]
fn names_that_escaping_makes_unwritable_never_break_the_exposition() -> Result<()> {
    let dir = PluginsDir::new("sandbox-unwritable");
    dir.add(
        "healthy",
        "conformance",
        Some("config:\n  prefix: healthy\n"),
    );
    dir.add(
        "bad",
        "faulty",
        Some("config:\n  fault: unwritable_names\n"),
    );
    let e = Exporter::start(&dir.path, &[])?;
    let (text, om, _) = every_format_parses(&e)?;
    for body in [&text, &om] {
        assert_eq!(sample(body, "unwritable_alive"), Some(1.0), "{body}");
        assert_eq!(sample(body, "healthy_mystery"), Some(42.0), "{body}");
        assert!(!body.contains("__name__"), "{body}");
        assert!(!body.contains("__help"), "{body}");
        assert!(!body.contains("s:t"), "{body}");
        assert!(!body.contains("f_x{"), "{body}");
    }
    // Four families left out of each of those three responses (text,
    // OpenMetrics and protobuf, all escaping with underscores), and logged.
    let body = e.scrape_text()?;
    assert_eq!(
        sample(&body, "wasm_exporter_escape_clashes_total"),
        Some(12.0)
    );
    let logged = e.wait_for_log(&["format and escaping cannot carry"]);
    assert!(logged[0].contains("__name__"), "{logged:#?}");
    Ok(())
}

#[test]
fn native_histograms_every_format_can_carry_or_a_reason() -> Result<()> {
    let dir = PluginsDir::new("sandbox-native");
    dir.add(
        "healthy",
        "conformance",
        Some("config:\n  prefix: healthy\n"),
    );
    dir.add(
        "extremes",
        "faulty",
        Some("config:\n  fault: native_extremes\n"),
    );
    let e = Exporter::start(&dir.path, &[])?;
    let (text, om, pb) = every_format_parses(&e)?;
    assert_eq!(plugin_up(&text, "extremes"), Some(1.0));
    assert_eq!(errors(&text, "extremes", "invalid_output"), Some(1.0));
    assert!(
        !pb.contains("extreme_count") && !pb.contains("extreme_indices"),
        "{pb}"
    );
    // The NaN sum: in the Prometheus formats, left out of OpenMetrics.
    assert!(pb.contains("nan_sum"), "{pb}");
    assert!(text.contains("nan_sum_sum NaN"), "{text}");
    assert!(!om.contains("nan_sum"), "{om}");
    assert_eq!(sample(&om, "extremes_alive"), Some(1.0));
    e.wait_for_log(&["too far apart to encode", "plugin=extremes"]);
    Ok(())
}

#[test]
fn a_plugin_that_leaks_descriptors_fails_alone_within_its_budget() -> Result<()> {
    let dir = PluginsDir::new("sandbox-fds");
    let data = dir.path.join("data");
    std::fs::create_dir_all(&data)?;
    std::fs::write(data.join("f"), "x")?;
    let data = data.display();
    dir.add(
        "healthy",
        "conformance",
        Some("config:\n  prefix: healthy\n"),
    );
    dir.add(
        "leaky",
        "faulty",
        Some(&format!(
            "config:\n  fault: fd_leak\n  target: {data}/f\ngrants:\n  dirs: [\"{data}\"]\nlimits:\n  max_open_files: 64\n"
        )),
    );
    let e = Exporter::start(&dir.path, &[])?;
    let body = e.scrape_text()?;
    assert_eq!(plugin_up(&body, "healthy"), Some(1.0));
    assert_eq!(plugin_up(&body, "leaky"), Some(0.0));
    assert_eq!(errors(&body, "leaky", "trap"), Some(1.0), "{body}");
    // Its opens failed past its budget; the host's descriptors stayed the
    // host's (a listener, a few connections and files).
    let fds = sample(&body, "process_open_fds").expect("process_open_fds");
    assert!(fds < 64.0, "{fds} descriptors open");
    let after = e.scrape_text()?;
    assert_eq!(plugin_up(&after, "healthy"), Some(1.0));
    Ok(())
}

#[test]
fn a_log_flood_is_cut_to_the_budget_with_one_summary_line() -> Result<()> {
    let dir = PluginsDir::new("sandbox-logs");
    dir.add(
        "healthy",
        "conformance",
        Some("config:\n  prefix: healthy\n"),
    );
    dir.add(
        "flooder",
        "faulty",
        Some("config:\n  fault: log_flood\n  lines: 20000\n"),
    );
    dir.add(
        "denier",
        "faulty",
        Some("config:\n  fault: denied_flood\n  lines: 100000\n"),
    );
    let e = Exporter::start(&dir.path, &[])?;
    let body = e.scrape_text()?;
    assert_eq!(plugin_up(&body, "healthy"), Some(1.0));
    assert_eq!(plugin_up(&body, "flooder"), Some(1.0));
    assert_eq!(plugin_up(&body, "denier"), Some(1.0));
    assert_eq!(errors(&body, "denier", "fetch_denied"), Some(100000.0));
    let summary = e.wait_for_log(&["over its budget of 65536 bytes", "plugin=flooder"]);
    assert_eq!(summary.len(), 1, "{summary:#?}");
    assert!(
        summary[0].contains("suppressed_lines=19984"),
        "{}",
        summary[0]
    );
    // Lines of 4092 bytes: 16 fit in 64 KiB.
    let written = e.logs_matching(&["flood flood", "plugin=flooder"]);
    assert_eq!(written.len(), 16);
    e.wait_for_log(&["over its budget of 65536 bytes", "plugin=denier"]);
    let denied = e.logs_matching(&["fetch failed", "plugin=denier"]);
    assert!(
        !denied.is_empty() && denied.len() < 1000,
        "{} denial lines",
        denied.len()
    );
    let total: usize = e.logs().iter().map(String::len).sum();
    assert!(total < 256 << 10, "{total} bytes of log");
    Ok(())
}
