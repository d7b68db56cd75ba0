//! Native histograms end to end: Debian's Prometheus 2.42 with
//! `--enable-feature=native-histograms` scrapes the latency simulator with
//! native buckets on over protobuf, and one without the flag scrapes the
//! same target in OpenMetrics as before. The `Accept` headers each sends
//! are captured and must be the ones the negotiation was written for.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::scrapers::{PROMETHEUS_2_42, PROMETHEUS_2_42_NATIVE};
use crate::support::*;

fn config(exporter: &str, capture: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: wasm\n    static_configs: [{{targets: ['{exporter}']}}]\n\
         \x20 - job_name: capture\n    static_configs: [{{targets: ['{capture}']}}]\n"
    )
}

#[test]
fn prometheus_2_42_reads_native_histograms_over_protobuf_and_text_without_the_flag() -> Result<()> {
    let dir = PluginsDir::new("native-prometheus");
    dir.add(
        "latency-simulator",
        "latency-simulator",
        Some("config:\n  native_histogram_bucket_factor: 1.1\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let (capture_native, capture_plain) = (AcceptCapture::start()?, AcceptCapture::start()?);
    let native = Prometheus::start_with(
        "native",
        &config(&exporter.addr, &capture_native.addr),
        &["native-histograms"],
    )?;
    let plain = Prometheus::start_with("plain", &config(&exporter.addr, &capture_plain.addr), &[])?;

    // The headers are the ones negotiation was written against, and they
    // get protobuf and OpenMetrics from us.
    let accept_native = eventually(Duration::from_secs(30), || Ok(capture_native.first()))?;
    let accept_plain = eventually(Duration::from_secs(30), || Ok(capture_plain.first()))?;
    assert_eq!(accept_native, PROMETHEUS_2_42_NATIVE);
    assert_eq!(accept_plain, PROMETHEUS_2_42);
    let r = exporter.get("/metrics", &[("Accept", &accept_native)])?;
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/vnd.google.protobuf"),
        "{:?}",
        r.header("content-type")
    );
    let r = exporter.get("/metrics", &[("Accept", &accept_plain)])?;
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        r.header("content-type")
    );

    // With the flag: histogram_quantile over the native series.
    let p90 = eventually(Duration::from_secs(60), || {
        let r =
            native.query("histogram_quantile(0.9, rate(rpc_durations_histogram_seconds[30s]))")?;
        Ok(r.first().map(value).filter(|v| v.is_finite()))
    })
    .with_context(|| format!("no native p90; exporter log: {:#?}", exporter.logs()))?;
    assert!(p90.abs() < 0.01, "p90 {p90}");
    // The raw series comes back as a native histogram, not as buckets.
    let raw = native.query("rpc_durations_histogram_seconds")?;
    let first = raw
        .first()
        .with_context(|| "no raw native series".to_string())?;
    assert!(
        first.get("histogram").is_some(),
        "not a native histogram: {first}"
    );
    assert!(
        native
            .query("rpc_durations_histogram_seconds_bucket")?
            .is_empty(),
        "classic buckets stored beside the native histogram"
    );
    // Exemplars still arrive (from the classic buckets, as 2.42 reads them).
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let exemplars = eventually(Duration::from_secs(30), || {
        let e = native.api(&format!(
            "/api/v1/query_exemplars?query={}&start={}&end={}",
            encode("rpc_durations_histogram_seconds"),
            now - 120,
            now + 60
        ))?;
        Ok(e.to_string().contains("dummyID").then_some(e))
    })
    .context("no exemplars stored with native histograms")?;
    assert!(exemplars.to_string().contains("dummyID"));

    // Without the flag, the same target as today: classic buckets.
    let classic = eventually(Duration::from_secs(60), || {
        let r = plain
            .query("histogram_quantile(0.9, rate(rpc_durations_histogram_seconds_bucket[30s]))")?;
        Ok(r.first().map(value).filter(|v| v.is_finite()))
    })?;
    assert!(classic.abs() < 0.01, "p90 {classic}");
    let raw = plain.query("rpc_durations_histogram_seconds")?;
    assert!(raw.is_empty(), "a native series without the flag: {raw:?}");
    Ok(())
}
