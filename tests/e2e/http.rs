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
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        (
            Some("application/openmetrics-text; version=0.0.1"),
            "application/openmetrics-text; version=0.0.1; charset=utf-8",
        ),
        (
            Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            ),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
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
    let garbage = send_raw(&e.addr, b"\x16\x03\x01 not http at all\r\n\r\n");
    assert!(garbage.map(|r| r.status == 400).unwrap_or(true));
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let r = send_raw(&e.addr, huge.as_bytes());
    assert!(
        r.map(|r| r.status == 431 || r.status == 400)
            .unwrap_or(true)
    );
    let r = e.get(
        "/metrics",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "banana")],
    )?;
    assert_eq!(r.status, 200);
    let r = e.get("/metrics", &[("X-Prometheus-Scrape-Timeout-Seconds", "-5")])?;
    assert_eq!(r.status, 200);
    assert!(e.scrape_text()?.contains("conformance_mystery 42"));
    Ok(())
}

#[test]
fn concurrent_scrapes_all_get_complete_answers() -> Result<()> {
    let (_dir, e) = exporter("concurrent-scrapes")?;
    let addr = e.addr.clone();
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                request(
                    &addr,
                    "GET",
                    "/metrics",
                    &[("Accept", "application/openmetrics-text")],
                )
            })
        })
        .collect();
    for h in handles {
        let r = h
            .join()
            .map_err(|_| anyhow::anyhow!("scrape thread panicked"))??;
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
    for line in e.logs() {
        serde_json::from_str::<serde_json::Value>(&line)
            .map_err(|err| anyhow::anyhow!("{err}: {line}"))?;
    }
    Ok(())
}
