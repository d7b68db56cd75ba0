//! A real Prometheus 3 (3.16.0, the newest 3.x the Go module proxy serves,
//! built by `make go-tools` as `go install` builds it) scrapes every shipped
//! plugin and the conformance plugins of the three languages: the format its
//! defaults pick, every family stored, UTF-8 names as they are and escaped,
//! a clash that escaping makes, native histograms with classic buckets
//! beside them, exemplars, and `_created` turned into zero samples. The
//! `Accept` headers it sends are captured and must be the unit tests'.
//! Debian's 2.42 keeps its own tests (`prometheus.rs`, `native.rs`).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};

use crate::scrapers::{PROMETHEUS_3, PROMETHEUS_3_PROTO_FIRST};
use crate::support::*;

/// One exporter serving haproxy (against a real HAProxy), the latency
/// simulator with native buckets, textfile, the conformance plugin in Rust,
/// Python and JavaScript, and two conformance instances whose names become
/// the same under `underscores` (`clash.a_…` and `clash_a_…`), told apart
/// by their `origin` label.
fn every_plugin(test: &str) -> Result<(Haproxy, PluginsDir, Exporter)> {
    let haproxy = Haproxy::start(test)?;
    let stats = haproxy.stats_url.clone();
    let dir = PluginsDir::new(test);
    let jobs = dir.path.join("textfile");
    std::fs::create_dir(&jobs)?;
    std::fs::write(
        jobs.join("backup.prom"),
        "# HELP backup_last_success_timestamp_seconds When the backup last succeeded.\n\
         # TYPE backup_last_success_timestamp_seconds gauge\n\
         backup_last_success_timestamp_seconds 1.7e+09\n",
    )?;
    let jobs = jobs.display();
    dir.add(
        "latency-simulator",
        "latency-simulator",
        Some("config:\n  native_histogram_bucket_factor: 1.1\n"),
    )
    .add(
        "haproxy",
        "haproxy",
        Some(&format!(
            "config:\n  scrape_uri: \"{stats}\"\ngrants:\n  fetch: [\"{stats}\"]\n"
        )),
    )
    .add(
        "textfile",
        "textfile",
        Some(&format!(
            "config: {{directories: ['{jobs}']}}\ngrants: {{dirs: ['{jobs}']}}\n"
        )),
    )
    .add("conformance", "conformance", None)
    .add("py", "conformance-py", Some("config: {prefix: py}\n"))
    .add("js", "conformance-js", Some("config: {prefix: js}\n"))
    .add(
        "clash-dot",
        "conformance",
        Some("config: {prefix: clash.a}\nlabels: {origin: dot}\n"),
    )
    .add(
        "clash-underscore",
        "conformance",
        Some("config: {prefix: clash_a}\nlabels: {origin: underscore}\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    Ok((haproxy, dir, exporter))
}

/// The sample names of an OpenMetrics or text exposition, quoted UTF-8
/// names (`{"a.b",…}`) included.
fn sample_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix("{\"") {
            Some(quoted) => {
                let mut name = String::new();
                let mut chars = quoted.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => name.extend(chars.next()),
                        '"' => break,
                        c => name.push(c),
                    }
                }
                name
            }
            None => l.split(['{', ' ']).next().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Every target of `prometheus` up.
fn all_up(prometheus: &Prometheus, targets: usize) -> Result<()> {
    eventually(Duration::from_secs(90), || {
        let t = prometheus.api("/api/v1/targets")?;
        let active = t["data"]["activeTargets"]
            .as_array()
            .cloned()
            .with_context(|| format!("no active targets in {t}"))?;
        let up = active.len() == targets && active.iter().all(|t| t["health"] == "up");
        Ok(up.then_some(()))
    })
    .with_context(|| {
        format!(
            "targets never all up: {:?}",
            prometheus.api("/api/v1/targets").map(|t| t.to_string())
        )
    })
}

/// The label `name` of each series `promql` returns, sorted.
fn label_of(prometheus: &Prometheus, promql: &str, name: &str) -> Result<Vec<String>> {
    let mut values: Vec<String> = prometheus
        .query(promql)?
        .iter()
        .map(|s| s["metric"][name].as_str().unwrap_or("(none)").to_owned())
        .collect();
    values.sort();
    Ok(values)
}

#[test]
fn prometheus_3_stores_every_family_of_every_plugin_as_its_defaults_ask() -> Result<()> {
    let (_haproxy, _dir, exporter) = every_plugin("prometheus3-all")?;
    let (capture, capture_proto) = (AcceptCapture::start()?, AcceptCapture::start()?);
    let target = &exporter.addr;
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: wasm\n    static_configs: [{{targets: ['{target}']}}]\n\
         \x20 - job_name: escaped\n    metric_name_escaping_scheme: underscores\n\
         \x20   static_configs: [{{targets: ['{target}']}}]\n\
         \x20 - job_name: native\n    scrape_native_histograms: true\n\
         \x20   always_scrape_classic_histograms: true\n\
         \x20   static_configs: [{{targets: ['{target}']}}]\n\
         \x20 - job_name: capture\n    static_configs: [{{targets: ['{}']}}]\n\
         \x20 - job_name: capture-native\n    scrape_native_histograms: true\n\
         \x20   static_configs: [{{targets: ['{}']}}]\n",
        capture.addr, capture_proto.addr
    );
    let prometheus = Prometheus::start3("all", &config, &[])?;

    // What it asks for, by default and with native histograms on, is what
    // the negotiation's unit tests were written against, and it gets
    // OpenMetrics with UTF-8 names, or protobuf with escaped ones (its
    // protobuf clause carries no `escaping=`; client_golang does the same).
    let accept = eventually(Duration::from_secs(30), || Ok(capture.first()))?;
    let accept_proto = eventually(Duration::from_secs(30), || Ok(capture_proto.first()))?;
    assert_eq!(accept, PROMETHEUS_3);
    assert_eq!(accept_proto, PROMETHEUS_3_PROTO_FIRST);
    let content_type = |accept: &str| -> Result<String> {
        let r = exporter.get("/metrics", &[("Accept", accept)])?;
        Ok(r.header("content-type").unwrap_or_default().to_owned())
    };
    assert_eq!(
        content_type(&accept)?,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    );
    assert_eq!(
        content_type(&accept_proto)?,
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores"
    );
    all_up(&prometheus, 5)?;
    let up = prometheus.query("up{job=~\"wasm|escaped|native\"}")?;
    assert!(
        up.len() == 3 && up.iter().all(|s| value(s) == 1.0),
        "{up:?}"
    );

    // Every sample name we serve it is stored (Prometheus adds only its
    // own `up` and `scrape_*`), `_created` lines included as series.
    let missing = std::cell::RefCell::new(BTreeSet::new());
    eventually(Duration::from_secs(30), || {
        let served = sample_names(&exporter.get("/metrics", &[("Accept", &accept)])?.text()?);
        let stored = prometheus.api(&format!(
            "/api/v1/label/__name__/values?match[]={}",
            encode("{job=\"wasm\"}")
        ))?;
        let stored: BTreeSet<String> = stored["data"]
            .as_array()
            .context("label values")?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        *missing.borrow_mut() = served.difference(&stored).cloned().collect();
        Ok(missing.borrow().is_empty().then_some(()))
    })
    .with_context(|| format!("never stored: {:?}", missing.borrow()))?;
    for plugin in [
        "latency-simulator",
        "haproxy",
        "textfile",
        "conformance",
        "py",
        "js",
        "clash-dot",
        "clash-underscore",
    ] {
        let up = prometheus.query(&format!(
            "wasm_exporter_plugin_up{{job=\"wasm\",plugin=\"{plugin}\"}}"
        ))?;
        assert_eq!(up.first().map(value), Some(1.0), "{plugin}: {up:?}");
    }
    assert_eq!(
        prometheus
            .query("backup_last_success_timestamp_seconds{job=\"wasm\"}")?
            .first()
            .map(value),
        Some(1.7e9)
    );
    assert_eq!(
        prometheus
            .query("haproxy_up{job=\"wasm\"}")?
            .first()
            .map(value),
        Some(1.0)
    );

    // UTF-8 names arrive as they are and can be queried quoted; with
    // `metric_name_escaping_scheme: underscores` they arrive escaped.
    let rooms = |promql: &str, label: &str| label_of(&prometheus, promql, label);
    assert_eq!(
        rooms(
            "{\"conformance.utf8.temperature\", job=\"wasm\"}",
            "room.name"
        )?,
        ["kitchen", "küche"]
    );
    assert_eq!(
        rooms("conformance_utf8_temperature{job=\"escaped\"}", "room_name")?,
        ["kitchen", "küche"]
    );
    assert!(
        prometheus
            .query("{\"conformance.utf8.temperature\", job=\"escaped\"}")?
            .is_empty()
    );
    assert_eq!(
        rooms("conformance_utf8_temperature{job=\"native\"}", "room_name")?,
        ["kitchen", "küche"]
    );

    // The clash escaping makes: as given, both families (the regex's `.`
    // matches both names); escaped, the first in name order (`clash.a_…`,
    // from origin=dot) and the clash counted.
    assert_eq!(
        label_of(
            &prometheus,
            "{__name__=~\"clash.a_collects_total\", job=\"wasm\"}",
            "origin"
        )?,
        ["dot", "underscore"]
    );
    assert_eq!(
        label_of(
            &prometheus,
            "clash_a_collects_total{job=\"escaped\"}",
            "origin"
        )?,
        ["dot"]
    );
    // Counted as each response is rendered, so it shows from the next one.
    eventually(Duration::from_secs(30), || {
        let r = prometheus.query("wasm_exporter_escape_clashes_total{job=\"escaped\"}")?;
        Ok(r.first().map(value).filter(|v| *v >= 1.0))
    })
    .context("the clash escaping made was never counted")?;

    // Native histograms over protobuf, classic buckets beside them where
    // the plugin gives them, histogram_quantile over the native series.
    let p90 = eventually(Duration::from_secs(60), || {
        let r = prometheus.query(
            "histogram_quantile(0.9, rate(rpc_durations_histogram_seconds{job=\"native\"}[30s]))",
        )?;
        Ok(r.first().map(value).filter(|v| v.is_finite()))
    })
    .with_context(|| format!("no native p90; exporter log: {:#?}", exporter.logs()))?;
    assert!(p90.abs() < 0.01, "p90 {p90}");
    for name in [
        "rpc_durations_histogram_seconds",
        "conformance_native_duration_seconds",
        "py_native_duration_seconds",
        "js_native_duration_seconds",
    ] {
        let raw = prometheus.query(&format!("{name}{{job=\"native\"}}"))?;
        ensure!(
            !raw.is_empty() && raw.iter().all(|s| s.get("histogram").is_some()),
            "{name}: not native histograms: {raw:?}"
        );
        let buckets = prometheus.query(&format!("{name}_bucket{{job=\"native\"}}"))?;
        ensure!(!buckets.is_empty(), "{name}: no classic buckets beside");
    }
    // In OpenMetrics (job wasm) the same histogram is classic only.
    assert!(
        prometheus
            .query("rpc_durations_histogram_seconds{job=\"wasm\"}")?
            .is_empty()
    );

    // Exemplars, from OpenMetrics and from protobuf.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    for selector in [
        "rpc_durations_histogram_seconds_bucket{job=\"wasm\"}",
        "{__name__=~\"rpc_durations_histogram_seconds(_bucket)?\", job=\"native\"}",
    ] {
        eventually(Duration::from_secs(30), || {
            let e = prometheus.api(&format!(
                "/api/v1/query_exemplars?query={}&start={}&end={}",
                encode(selector),
                now - 120,
                now + 120
            ))?;
            Ok(e.to_string().contains("dummyID").then_some(()))
        })
        .with_context(|| format!("no exemplars for {selector}"))?;
    }

    // Prometheus 3's promtool reads what we serve in text: 0.0.4, and 1.0.0
    // escaped (its linter parses legacy names only, so a quoted UTF-8 name
    // is its error, not ours: the Python parser reads those, exposition.rs).
    let promtool = go_tool("WASM_EXPORTER_PROMTOOL3", "prometheus-3.16.0/promtool");
    let promtool = promtool.to_str().context("promtool path")?;
    for accept in [
        "text/plain;version=0.0.4",
        "text/plain;version=1.0.0;escaping=underscores",
    ] {
        let body = exporter.get("/metrics", &[("Accept", accept)])?.text()?;
        let (_, out) = run_with_stdin(promtool, &["check", "metrics"], &body)?;
        // Its only finding is a lint one on the seed program's name
        // (client_golang's `examples/random`, kept for parity).
        let findings: Vec<&str> = out.lines().collect();
        assert_eq!(
            findings,
            ["rpc_durations_histogram_seconds metric name should not include type 'histogram'"],
            "promtool 3 check metrics, {accept}"
        );
    }
    Ok(())
}

#[test]
fn prometheus_3_turns_created_timestamps_into_zero_samples() -> Result<()> {
    let dir = PluginsDir::new("prometheus3-created");
    dir.add(
        "conformance",
        "conformance",
        Some("config: {created_at_init: true}\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let created = sample(
        &exporter.scrape_openmetrics()?,
        "conformance_requests_created{method=\"POST\",path=\"/ünïcödé/日本語\"}",
    )
    .context("no _created served")?;
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: wasm\n    static_configs: [{{targets: ['{}']}}]\n",
        exporter.addr
    );
    let prometheus = Prometheus::start3("created", &config, &["created-timestamp-zero-ingestion"])?;
    all_up(&prometheus, 1)?;

    // The first sample of each series is a zero at the plugin's creation
    // time (to the millisecond), then the served value.
    for (series, then) in [
        ("conformance_requests_total{method=\"POST\"}", 3.0),
        (
            "conformance_request_duration_seconds_count{handler=\"/api\"}",
            10.0,
        ),
    ] {
        let samples = eventually(Duration::from_secs(30), || {
            let r = prometheus.query(&format!("{series}[10m]"))?;
            let values = r
                .first()
                .and_then(|s| s["values"].as_array().cloned())
                .unwrap_or_default();
            Ok((values.len() >= 2).then_some(values))
        })
        .with_context(|| format!("{series}: never two samples"))?;
        let at = |i: usize| samples[i][0].as_f64().unwrap_or(f64::NAN);
        let v = |i: usize| samples[i][1].as_str().and_then(|v| v.parse::<f64>().ok());
        assert_eq!(v(0), Some(0.0), "{series}: {samples:?}");
        assert!(
            (at(0) - created).abs() < 0.001,
            "{series}: {samples:?} vs {created}"
        );
        assert_eq!(v(1), Some(then), "{series}: {samples:?}");
    }
    Ok(())
}
