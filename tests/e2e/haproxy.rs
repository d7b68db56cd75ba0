//! The haproxy plugin against a real HAProxy, side by side with Debian's
//! haproxy_exporter, and several instances of it; the stats endpoint's
//! failure modes are in `haproxy_endpoint.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::support::*;

/// Debian's haproxy_exporter, the parity peer. Killed by PID when dropped.
struct GoExporter {
    child: Child,
    addr: String,
}

impl GoExporter {
    fn start(scrape_uri: &str) -> Result<Self> {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let child = Command::new("prometheus-haproxy-exporter")
            .arg(format!("--web.listen-address={addr}"))
            .arg(format!("--haproxy.scrape-uri={scrape_uri}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting prometheus-haproxy-exporter (make test installs it)")?;
        let e = GoExporter { child, addr };
        eventually(Duration::from_secs(20), || {
            Ok(request(&e.addr, "GET", "/metrics", &[])
                .ok()
                .filter(|r| r.status == 200))
        })?;
        Ok(e)
    }

    fn scrape(&self) -> Result<String> {
        request(&self.addr, "GET", "/metrics", &[])?.text()
    }
}

impl Drop for GoExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `haproxy_*` families of a text exposition: name → type, and series →
/// value, with the label names of each family.
struct Parsed {
    types: BTreeMap<String, String>,
    labels: BTreeMap<String, BTreeSet<String>>,
    values: BTreeMap<String, String>,
}

fn parse(exposition: &str) -> Parsed {
    let mut p = Parsed {
        types: BTreeMap::new(),
        labels: BTreeMap::new(),
        values: BTreeMap::new(),
    };
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE haproxy_") {
            if let Some((name, kind)) = rest.split_once(' ') {
                p.types.insert(format!("haproxy_{name}"), kind.to_owned());
            }
            continue;
        }
        if !line.starts_with("haproxy_") {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or(series).to_owned();
        // A series without braces has no label names.
        let names: BTreeSet<String> = match series.split_once('{') {
            Some((_, l)) => l
                .trim_end_matches('}')
                .split("\",")
                .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_owned()))
                .collect(),
            None => BTreeSet::new(),
        };
        p.labels.entry(name).or_default().extend(names);
        p.values.insert(series.to_owned(), value.to_owned());
    }
    p
}

/// Deliberate differences, documented in the README.
const ONLY_THEIRS: &[&str] = &["haproxy_exporter_build_info"];

fn assert_parity(uri: &str, test: &str, haproxy: &Haproxy) -> Result<()> {
    let _ = haproxy;
    let go = GoExporter::start(uri)?;
    let dir = PluginsDir::new(test);
    dir.add("haproxy", "haproxy", Some(&haproxy_yml(uri, uri)));
    let ours_exporter = Exporter::start(&dir.path, &[])?;

    let before = parse(&go.scrape()?);
    let ours_text = ours_exporter.scrape_text()?;
    let after = parse(&go.scrape()?);
    let ours = parse(&ours_text);

    let mut theirs_families: BTreeSet<(String, String, BTreeSet<String>)> = BTreeSet::new();
    for (name, kind) in &after.types {
        if ONLY_THEIRS.contains(&name.as_str()) || !after.labels.contains_key(name) {
            continue;
        }
        theirs_families.insert((name.clone(), kind.clone(), after.labels[name].clone()));
    }
    let ours_families: BTreeSet<(String, String, BTreeSet<String>)> = ours
        .types
        .iter()
        .filter(|(name, _)| ours.labels.contains_key(*name))
        .map(|(name, kind)| (name.clone(), kind.clone(), ours.labels[name].clone()))
        .collect();
    assert_eq!(
        ours_families, theirs_families,
        "(family, type, label names) differ"
    );

    let mut compared = 0;
    for (series, value) in &after.values {
        // Skip what moved between the peer's scrapes, and the `stats`
        // frontend, whose sessions are the scrapers' own connections (the
        // Go client keeps an idle keep-alive connection open, so each
        // exporter sees a different count there).
        let own_traffic = series.contains("frontend=\"stats\"");
        if before.values.get(series) != Some(value)
            || series.starts_with("haproxy_exporter_")
            || own_traffic
        {
            continue;
        }
        compared += 1;
        assert_eq!(ours.values.get(series), Some(value), "{series}");
    }
    let theirs_series: BTreeSet<&String> = after
        .values
        .keys()
        .filter(|s| !s.starts_with("haproxy_exporter_build_info"))
        .collect();
    let ours_series: BTreeSet<&String> = ours.values.keys().collect();
    let only_ours: Vec<&&String> = ours_series.difference(&theirs_series).collect();
    let only_theirs: Vec<&&String> = theirs_series.difference(&ours_series).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "series only in ours: {only_ours:?}\nonly in theirs: {only_theirs:?}"
    );
    assert!(compared > 100, "only {compared} stable series compared");
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &ours_text)?;
    assert!(ok, "promtool check metrics:\n{out}");
    Ok(())
}

#[test]
fn parity_with_haproxy_exporter_over_http() -> Result<()> {
    let haproxy = Haproxy::start("parity-http")?;
    let uri = haproxy.stats_url.clone();
    assert_parity(&uri, "parity-http", &haproxy)
}

#[test]
fn parity_with_haproxy_exporter_over_the_unix_socket() -> Result<()> {
    let haproxy = Haproxy::start("parity-unix")?;
    let uri = format!("unix:{}", haproxy.socket.display());
    assert_parity(&uri, "parity-unix", &haproxy)
}

#[test]
fn several_instances_of_one_plugin_with_constant_labels() -> Result<()> {
    let haproxy = Haproxy::start("instances")?;
    let sock = format!("unix:{}", haproxy.socket.display());
    let http = haproxy.stats_url.clone();
    let yml = format!(
        "instances:\n  edge:\n    config: {{scrape_uri: \"{http}\"}}\n    grants: {{fetch: [\"{http}\"]}}\n    labels: {{haproxy: edge}}\n  core:\n    config: {{scrape_uri: \"{sock}\"}}\n    grants: {{fetch: [\"{sock}\"]}}\n    labels: {{haproxy: core}}\n"
    );
    let dir = PluginsDir::new("instances");
    dir.add("haproxy", "haproxy", Some(&yml));
    let e = Exporter::start(&dir.path, &[])?;
    let body = e.scrape_text()?;
    assert_eq!(
        sample(&body, "haproxy_up{haproxy=\"edge\"}"),
        Some(1.0),
        "{body}"
    );
    assert_eq!(sample(&body, "haproxy_up{haproxy=\"core\"}"), Some(1.0));
    assert_eq!(
        sample(
            &body,
            "haproxy_server_up{haproxy=\"edge\",backend=\"app\",server=\"down1\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &body,
            "haproxy_server_up{haproxy=\"core\",backend=\"app\",server=\"up1\"}"
        ),
        Some(1.0)
    );
    for plugin in ["edge", "core"] {
        assert_eq!(plugin_up(&body, plugin), Some(1.0));
        assert_eq!(
            sample(
                &body,
                &format!("wasm_exporter_plugin_dropped_families{{plugin=\"{plugin}\"}}")
            ),
            Some(0.0)
        );
    }
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &body)?;
    assert!(ok, "{out}");
    Ok(())
}
