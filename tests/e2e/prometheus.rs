//! A real Prometheus (Debian's 2.42) scrapes us every second, with exemplar
//! storage on, while we serve the latency simulator and the haproxy plugin
//! against a real HAProxy. Its HTTP API must then see what a Grafana
//! dashboard would query.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::support::*;

#[test]
fn a_real_prometheus_scrapes_us() -> Result<()> {
    let haproxy = Haproxy::start("prometheus")?;
    let dir = PluginsDir::new("prometheus");
    let stats = haproxy.stats_url.clone();
    dir.add("latency-simulator", "latency-simulator", None).add(
        "haproxy",
        "haproxy",
        Some(&format!(
            "config:\n  scrape_uri: \"{stats}\"\ngrants:\n  fetch: [\"{stats}\"]\n"
        )),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    // A second exporter whose plugin needs 1.5 s, scraped with a 1 s timeout:
    // Prometheus' timeout must reach the plugin as its deadline.
    let slow_dir = PluginsDir::new("prometheus-slow");
    slow_dir.add(
        "slow",
        "conformance",
        Some("config:\n  prefix: slow\n  sleep_ms: 1500\n"),
    );
    let slow = Exporter::start(&slow_dir.path, &[])?;
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: wasm\n    static_configs: [{{targets: ['{}']}}]\n\
         \x20 - job_name: slow\n    scrape_interval: 2s\n    scrape_timeout: 1s\n    static_configs: [{{targets: ['{}']}}]\n",
        exporter.addr, slow.addr
    );
    let prometheus = Prometheus::start(&config)?;

    // Both targets up.
    eventually(Duration::from_secs(30), || {
        let targets = prometheus.api("/api/v1/targets")?;
        let active = targets["data"]["activeTargets"]
            .as_array()
            .cloned()
            .with_context(|| format!("no active targets in {targets}"))?;
        let up = active.len() == 2 && active.iter().all(|t| t["health"] == "up");
        Ok(up.then_some(()))
    })
    .context("targets never all up")?;

    // Enough scrapes for rate() over 10 s.
    let last = std::cell::RefCell::new(Vec::new());
    let quantile = eventually(Duration::from_secs(40), || {
        let r = prometheus
            .query("histogram_quantile(0.9, rate(rpc_durations_histogram_seconds_bucket[10s]))")?;
        let v = r.first().map(value).filter(|v| v.is_finite());
        *last.borrow_mut() = r;
        Ok(v)
    })
    .with_context(|| {
        let debug = [
            "rpc_durations_histogram_seconds_count",
            "scrape_samples_scraped",
            "up",
        ]
        .map(|q| format!("{q}: {:?}", prometheus.query(q).ok()));

        format!(
            "histogram_quantile never finite: {:?}; {debug:?}; exporter log: {:#?}",
            last.borrow(),
            exporter.logs()
        )
    })?;
    assert!(quantile.abs() < 0.01, "p90 {quantile}");

    let medians = prometheus.query("rpc_durations_seconds{quantile=\"0.5\"}")?;
    let services: Vec<&str> = medians
        .iter()
        .filter_map(|s| s["metric"]["service"].as_str())
        .collect();
    assert_eq!(services.len(), 3, "{medians:?}");

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let exemplars = prometheus.api(&format!(
        "/api/v1/query_exemplars?query={}&start={}&end={}",
        encode("rpc_durations_histogram_seconds_bucket"),
        now - 120,
        now + 10
    ))?;
    let text = exemplars.to_string();
    assert!(text.contains("dummyID"), "no exemplars stored: {text}");

    let up = prometheus.query("haproxy_up")?;
    assert_eq!(up.first().map(value), Some(1.0), "{up:?}");
    for plugin in ["latency-simulator", "haproxy"] {
        let r = prometheus.query(&format!(
            "wasm_exporter_plugin_up{{job=\"wasm\",plugin=\"{plugin}\"}}"
        ))?;
        assert_eq!(r.first().map(value), Some(1.0), "{plugin}: {r:?}");
    }

    // The slow plugin ran out of Prometheus' time (1 s minus the 0.5 s
    // offset), not its own 10 s: timeouts counted, target still up.
    let timeouts = eventually(Duration::from_secs(30), || {
        let r = prometheus.query(
            "wasm_exporter_plugin_errors_total{job=\"slow\",plugin=\"slow\",reason=\"timeout\"}",
        )?;
        Ok(r.first().map(value).filter(|v| *v >= 1.0))
    })
    .context("the slow plugin never timed out under Prometheus' deadline")?;
    assert!(timeouts >= 1.0);
    let slow_up = prometheus.query("up{job=\"slow\"}")?;
    assert_eq!(slow_up.first().map(value), Some(1.0));
    drop(haproxy);
    Ok(())
}
