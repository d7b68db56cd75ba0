//! The HTTP surface: negotiation, gzip, endpoints, hostile requests, and
//! graceful shutdown.

use std::io::Read as _;

use anyhow::Result;

use crate::support::*;

fn exporter(test: &str) -> Result<(PluginsDir, Exporter)> {
    let dir = PluginsDir::new(test);
    dir.add("conformance", "conformance", None);
    let e = Exporter::start(&dir.path, &[])?;
    Ok((dir, e))
}

#[test]
fn negotiates_format_like_promhttp() -> Result<()> {
    let (_dir, e) = exporter("negotiate")?;
    let cases = [
        (None, "text/plain; version=0.0.4; charset=utf-8"),
        (
            Some("application/openmetrics-text; version=1.0.0"),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
        (
            Some("application/openmetrics-text; version=0.0.1"),
            "application/openmetrics-text; version=0.0.1; charset=utf-8",
        ),
        (
            Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            ),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
        (
            Some("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.1"),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        (
            Some("application/json"),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
    ];
    for (accept, want) in cases {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let r = e.get("/metrics", &headers)?;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some(want), "Accept: {accept:?}");
        assert_eq!(r.header("vary"), Some("Accept, Accept-Encoding"));
        let body = r.text()?;
        assert_eq!(
            body.ends_with("# EOF\n"),
            want.starts_with("application/openmetrics-text"),
            "{accept:?}"
        );
    }
    Ok(())
}

#[test]
fn gzip_when_accepted() -> Result<()> {
    let (_dir, e) = exporter("gzip")?;
    let r = e.get(
        "/metrics",
        &[
            ("Accept-Encoding", "gzip"),
            ("Accept", "application/openmetrics-text"),
        ],
    )?;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&r.body[..]).read_to_string(&mut plain)?;
    assert!(plain.ends_with("# EOF\n"));
    assert!(plain.contains("conformance_mystery 42.0"));
    let r = e.get("/metrics", &[("Accept-Encoding", "gzip;q=0, identity")])?;
    assert_eq!(r.header("content-encoding"), None);
    assert!(r.text()?.contains("conformance_mystery 42"));
    Ok(())
}

#[test]
fn endpoints_and_methods() -> Result<()> {
    let (_dir, e) = exporter("endpoints")?;
    assert_eq!(e.get("/-/healthy", &[])?.status, 200);
    assert_eq!(e.get("/-/ready", &[])?.status, 200);
    assert_eq!(e.get("/nope", &[])?.status, 404);
    let r = request(&e.addr, "POST", "/metrics", &[("Content-Length", "0")])?;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let head = request(&e.addr, "HEAD", "/metrics", &[])?;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let landing = e.get("/", &[])?.text()?;
    assert!(landing.contains("<a href=\"/metrics\">"), "{landing}");
    Ok(())
}

#[test]
fn telemetry_path_flag_moves_the_endpoint() -> Result<()> {
    let dir = PluginsDir::new("telemetry-path");
    dir.add("conformance", "conformance", None);
    let e = Exporter::start(&dir.path, &["--web.telemetry-path", "/probe"])?;
    assert_eq!(e.get("/metrics", &[])?.status, 404);
    let r = e.get("/probe", &[])?;
    assert_eq!(r.status, 200);
    assert!(r.text()?.contains("wasm_exporter_plugin_up"));
    Ok(())
}

#[test]
fn hostile_requests_get_errors_and_the_server_keeps_serving() -> Result<()> {
    let (_dir, e) = exporter("hostile")?;
    // Garbage, an oversized header, a bad scrape-timeout header.
    let garbage = send_raw(&e.addr, b"\x16\x03\x01 not http at all\r\n\r\n")?;
    assert_eq!(garbage.status, 400);
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let r = send_raw(&e.addr, huge.as_bytes())?;
    assert_eq!(r.status, 431);
    // A scrape-timeout header that is no number is ignored: a whole answer.
    for bad in ["banana", "-5"] {
        let r = e.get("/metrics", &[("X-Prometheus-Scrape-Timeout-Seconds", bad)])?;
        assert_eq!(r.status, 200, "{bad}");
        let body = r.text()?;
        assert!(body.contains("conformance_mystery 42"), "{bad}: {body}");
        assert_eq!(
            sample(&body, "wasm_exporter_plugin_up{plugin=\"conformance\"}"),
            Some(1.0)
        );
    }
    assert!(e.scrape_text()?.contains("conformance_mystery 42"));
    Ok(())
}

#[test]
fn concurrent_scrapes_all_get_complete_answers() -> Result<()> {
    let (_dir, e) = exporter("concurrent-scrapes")?;
    for r in wave(&e.addr, 16)? {
        assert_eq!(r.status, 200);
        let body = r.text()?;
        assert!(body.ends_with("# EOF\n"));
        assert!(body.contains("wasm_exporter_plugin_up{plugin=\"conformance\"} 1"));
    }
    Ok(())
}

#[test]
fn sigterm_shuts_down_cleanly() -> Result<()> {
    let (_dir, e) = exporter("sigterm")?;
    e.scrape_text()?;
    let status = e.terminate()?;
    assert!(status.success(), "exit status {status}");
    Ok(())
}

#[test]
fn json_logs_are_one_object_per_line() -> Result<()> {
    let dir = PluginsDir::new("json-logs");
    dir.add("trap", "trap", None);
    let e = Exporter::start(&dir.path, &["--log.format", "json"])?;
    e.scrape_text()?;
    let lines = e.wait_for_log(&["plugin down"]);
    let record: serde_json::Value = serde_json::from_str(&lines[0])?;
    assert_eq!(record["plugin"], "trap");
    assert_eq!(record["reason"], "trap");
    assert_eq!(record["level"], "ERROR");
    // promslog's keys, first and in its order.
    let keys: Vec<&str> = lines[0]
        .trim_start_matches('{')
        .split(",\"")
        .take(4)
        .map(|kv| kv.trim_start_matches('"').split('"').next().unwrap())
        .collect();
    assert_eq!(keys, ["time", "level", "source", "msg"], "{}", lines[0]);
    assert!(record["msg"].as_str().unwrap().starts_with("plugin down"));
    assert!(record["source"].as_str().unwrap().contains(".rs:"));
    for line in e.logs() {
        serde_json::from_str::<serde_json::Value>(&line)
            .map_err(|err| anyhow::anyhow!("{err}: {line}"))?;
    }
    Ok(())
}

#[test]
fn logfmt_logs_in_promslog_s_shape() -> Result<()> {
    let (_dir, e) = exporter("logfmt-logs")?;
    let lines = e.wait_for_log(&["plugins loaded, ready"]);
    let line = &lines[0];
    let keys: Vec<&str> = line
        .split(' ')
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
        .take(4)
        .collect();
    assert_eq!(keys, ["time", "level", "source", "msg"], "{line}");
    assert!(line.contains(" level=INFO "), "{line}");
    assert!(line.contains(" msg=\"plugins loaded, ready\""), "{line}");
    let time = line.split(' ').next().unwrap().trim_start_matches("time=");
    assert!(time.ends_with('Z') && time.contains('T'), "{time}");
    Ok(())
}

/// Fires `n` scrapes at once and returns the responses.
fn wave(addr: &str, n: usize) -> Result<Vec<HttpResponse>> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (addr, barrier) = (addr.to_owned(), std::sync::Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                request(
                    &addr,
                    "GET",
                    "/metrics",
                    &[("Accept", "application/openmetrics-text")],
                )
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .map_err(|_| anyhow::anyhow!("scrape thread panicked"))?
        })
        .collect()
}

#[test]
fn concurrent_scrapes_share_one_collect_per_wave() -> Result<()> {
    let dir = PluginsDir::new("coalesce");
    dir.add(
        "slow",
        "conformance",
        Some("config:\n  prefix: slow\n  sleep_ms: 1500\n"),
    )
    .add("fast", "conformance", Some("config:\n  prefix: fast\n"));
    let e = Exporter::start(&dir.path, &["--web.max-requests", "100"])?;
    for expected in [1.0, 2.0] {
        let responses = wave(&e.addr, 64)?;
        let mut collects = std::collections::BTreeSet::new();
        for r in &responses {
            assert_eq!(r.status, 200);
            let body = r.text()?;
            assert!(body.ends_with("# EOF\n"), "incomplete response");
            assert!(body.contains("slow_mystery 42.0") && body.contains("fast_mystery 42.0"));
            collects.insert(format!("{:?}", sample(&body, "slow_collects_total")));
        }
        // The slow plugin's collect ran once for the whole wave.
        assert_eq!(collects.len(), 1, "{collects:?}");
        assert_eq!(
            collects.first().map(String::as_str),
            Some(format!("{:?}", Some(expected)).as_str())
        );
    }
    Ok(())
}

#[test]
fn requests_over_the_limit_get_503_at_once() -> Result<()> {
    let dir = PluginsDir::new("max-requests");
    dir.add(
        "slow",
        "conformance",
        Some("config:\n  prefix: slow\n  sleep_ms: 2000\n"),
    );
    let e = Exporter::start(&dir.path, &["--web.max-requests", "2"])?;
    let responses = wave(&e.addr, 8)?;
    let ok = responses.iter().filter(|r| r.status == 200).count();
    let busy = responses.iter().filter(|r| r.status == 503).count();
    assert_eq!(ok + busy, 8);
    assert!((1..=2).contains(&ok), "{ok} served");
    assert!(busy >= 6, "{busy} refused");
    // The other endpoints are not limited, and the limit frees up.
    assert_eq!(e.get("/-/healthy", &[])?.status, 200);
    assert_eq!(e.get("/metrics", &[])?.status, 200);
    Ok(())
}

#[test]
fn version_and_no_flags_as_the_prometheus_tools_take_them() -> Result<()> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasm_exporter"))
        .arg("--version")
        .output()?;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("wasm_exporter, version ") && first.contains("(branch: "),
        "{text}"
    );
    for key in [
        "build date:",
        "rust version:",
        "wasmtime version:",
        "platform:",
    ] {
        assert!(text.contains(key), "{key} missing: {text}");
    }
    // --no-plugins.watch is taken like --plugins.watch=false: nothing reloads.
    let dir = PluginsDir::new("no-watch");
    dir.add("a", "conformance", Some("config:\n  prefix: a\n"));
    let e = Exporter::start(&dir.path, &["--no-plugins.watch"])?;
    // A control that watches the same directory: once it has loaded `b`,
    // the change was there to be seen.
    let control = Exporter::start(&dir.path, &[])?;
    dir.add("b", "conformance", Some("config:\n  prefix: b\n"));
    scrape_until(&control, "b added by the watching control", |body| {
        body.contains("b_collects_total")
    })?;
    assert!(
        !e.scrape_text()?.contains("b_collects_total"),
        "reloaded without a watch"
    );
    Ok(())
}

#[test]
fn a_port_alone_listens_on_ipv6_and_ipv4() -> Result<()> {
    let dir = PluginsDir::new("dual-stack");
    dir.add("conformance", "conformance", None);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_wasm_exporter"));
    cmd.args(["--web.listen-address", ":0"]);
    let e = Exporter::start_secured(cmd, &dir.path, &[])?;
    let port = e.addr.rsplit(':').next().unwrap();
    let v4 = format!("127.0.0.1:{port}");
    assert_eq!(request(&v4, "GET", "/-/healthy", &[])?.status, 200);
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        assert!(e.addr.starts_with("[::]:"), "{}", e.addr);
        let v6 = format!("[::1]:{port}");
        assert_eq!(request(&v6, "GET", "/-/healthy", &[])?.status, 200);
    } else {
        // A machine without IPv6: IPv4 alone, said once.
        e.wait_for_log(&["no IPv6 on this machine"]);
    }
    Ok(())
}

#[test]
fn promhttp_handler_metrics_and_disable_exporter_metrics() -> Result<()> {
    let (_dir, e) = exporter("promhttp")?;
    e.scrape_text()?;
    let body = e.scrape_text()?;
    // The first scrape has completed; this one is in flight.
    let total = |code: &str| {
        sample(
            &body,
            &format!("promhttp_metric_handler_requests_total{{code=\"{code}\"}}"),
        )
    };
    assert_eq!(total("200"), Some(1.0), "{body}");
    assert_eq!(total("500"), Some(0.0));
    assert_eq!(total("503"), Some(0.0));
    assert_eq!(
        sample(&body, "promhttp_metric_handler_requests_in_flight"),
        Some(1.0)
    );
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &body)?;
    assert!(ok, "{out}");

    let dir = PluginsDir::new("no-exporter-metrics");
    dir.add("conformance", "conformance", None);
    let e = Exporter::start(&dir.path, &["--web.disable-exporter-metrics"])?;
    let body = e.scrape_text()?;
    assert!(!body.contains("promhttp_"), "{body}");
    assert!(!body.contains("process_"), "{body}");
    assert_eq!(
        sample(&body, "wasm_exporter_plugin_up{plugin=\"conformance\"}"),
        Some(1.0)
    );
    assert!(body.contains("conformance_mystery 42"));
    Ok(())
}

#[test]
fn collect_params_and_disabled_plugins_choose_what_is_collected() -> Result<()> {
    let dir = PluginsDir::new("choose");
    dir.add("a", "conformance", Some("config:\n  prefix: a\n"))
        .add("b", "conformance", Some("config:\n  prefix: b\n"))
        .add(
            "c",
            "conformance",
            Some("config:\n  prefix: c\nenabled: false\n"),
        )
        .add("d", "conformance", Some("config:\n  prefix: d\n"));
    let e = Exporter::start(&dir.path, &["--plugins.disable", "d"])?;
    let up =
        |body: &str, p: &str| sample(body, &format!("wasm_exporter_plugin_up{{plugin=\"{p}\"}}"));
    // Every enabled plugin, and only those.
    let all = e.scrape_text()?;
    assert_eq!((up(&all, "a"), up(&all, "b")), (Some(1.0), Some(1.0)));
    assert_eq!((up(&all, "c"), up(&all, "d")), (None, None), "{all}");
    assert!(!all.contains("c_collects_total") && !all.contains("d_collects_total"));
    // collect[] as Prometheus' params: sends it.
    let r = e.get("/metrics?collect[]=b", &[])?;
    assert_eq!(r.status, 200);
    let only_b = r.text()?;
    assert!(only_b.contains("b_collects_total") && !only_b.contains("a_collects_total"));
    assert_eq!((up(&only_b, "a"), up(&only_b, "b")), (None, Some(1.0)));
    // A name that is not an enabled plugin is a 400 naming it.
    for name in ["nope", "c", "d"] {
        let r = e.get(&format!("/metrics?collect%5B%5D={name}"), &[])?;
        assert_eq!(r.status, 400, "{name}");
        assert!(r.text()?.contains(&format!("{name:?}")), "{name}");
    }
    // The landing page says which are disabled.
    let landing = e.get("/", &[])?.text()?;
    assert_eq!(landing.matches(">disabled<").count(), 2, "{landing}");
    Ok(())
}
