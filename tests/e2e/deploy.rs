//! The deployment files under deploy/ are checked against the real things:
//! the Grafana dashboard's queries against a real scrape, the systemd units
//! with `systemd-analyze verify` (`systemd.rs`), the Prometheus scrape
//! configs with `promtool check config`, the Kubernetes manifests against
//! the API's schemas, and every flag they pass against our `--help`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::support::*;

pub(crate) fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file)
}

pub(crate) fn read(file: &str) -> Result<String> {
    std::fs::read_to_string(deploy(file)).with_context(|| format!("reading deploy/{file}"))
}

/// Metric names in a PromQL expression: label matchers, grouping labels,
/// strings, `$variables` and functions taken out.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const NOT_METRICS: &[&str] = &[
        "sum",
        "by",
        "without",
        "rate",
        "increase",
        "irate",
        "histogram_quantile",
        "label_values",
        "avg",
        "max",
        "min",
        "count",
        "topk",
        "on",
        "ignoring",
    ];
    let mut cleaned = String::new();
    let mut depth_brace = 0;
    let mut chars = expr.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '{' => depth_brace += 1,
            '}' => depth_brace -= 1,
            '[' => {
                // Range selectors like [5m] or [$__rate_interval].
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                }
            }
            _ if depth_brace > 0 => {}
            c => cleaned.push(c),
        }
    }
    // `by (a, b)` lists labels, not metrics.
    let mut names = BTreeSet::new();
    let mut rest = cleaned.as_str();
    while !rest.is_empty() {
        if let Some(after) = rest
            .strip_prefix("by (")
            .or_else(|| rest.strip_prefix("by("))
        {
            rest = after.split_once(')').map_or("", |(_, r)| r);
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c.is_ascii_alphabetic() || c == '_' {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let word = &rest[..end];
            let after = rest[end..].trim_start();
            let is_keyword_call = after.starts_with('(') && NOT_METRICS.contains(&word);
            if !is_keyword_call && !NOT_METRICS.contains(&word) && word != "e9" {
                names.insert(word.to_owned());
            }
            rest = &rest[end..];
        } else if c == '$' {
            let end = rest[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(rest.len(), |e| e + 1);
            rest = &rest[end..];
        } else if c.is_ascii_digit() {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                .unwrap_or(rest.len());
            rest = &rest[end..];
        } else {
            rest = &rest[c.len_utf8()..];
        }
    }
    names
}

#[test]
fn promql_metric_names_are_found() {
    let names = metric_names(
        r#"histogram_quantile(0.9, sum by (instance, le) (rate(x_bucket{job=~"$job", a="b{c}"}[$__rate_interval]))) / y_total 1e9"#,
    );
    assert_eq!(
        names,
        BTreeSet::from(["x_bucket".to_owned(), "y_total".to_owned()])
    );
}

/// Every expression in the dashboard (panels and template variables).
fn dashboard_queries(dashboard: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dashboard];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("expr" | "definition", serde_json::Value::String(s)) => {
                            out.push(s.clone())
                        }
                        _ => stack.push(v),
                    }
                }
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

#[test]
fn grafana_dashboard_queries_only_metrics_we_export() -> Result<()> {
    let dashboard: serde_json::Value = serde_json::from_str(&read("grafana/wasm_exporter.json")?)
        .context("dashboard is not valid JSON")?;
    ensure!(dashboard["panels"].as_array().is_some_and(|p| p.len() > 10));

    let haproxy = Haproxy::start("grafana")?;
    let dir = PluginsDir::new("grafana");
    dir.add("latency-simulator", "latency-simulator", None);
    dir.add(
        "haproxy",
        "haproxy",
        Some(&haproxy_yml(&haproxy.stats_url, &haproxy.stats_url)),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    // Two scrapes: the simulator has observations by the second.
    exporter.scrape_text()?;
    std::thread::sleep(std::time::Duration::from_millis(300));
    let scrape = exporter.scrape_text()?;
    let exported: BTreeSet<&str> = scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();

    let queries = dashboard_queries(&dashboard);
    ensure!(queries.len() >= 20, "{} queries", queries.len());
    let mut queried = BTreeSet::new();
    for q in &queries {
        // Grafana's label_values(metric, label): only the first is a metric.
        let q = match q.strip_prefix("label_values(") {
            Some(args) => args.rsplit_once(',').map_or(args, |(m, _)| m),
            None => q.as_str(),
        };
        for name in metric_names(q) {
            ensure!(
                exported.contains(name.as_str()),
                "dashboard queries {name}, which we do not export (in {q})"
            );
            queried.insert(name);
        }
    }
    // Both plugins and the host's self-metrics are covered.
    for prefix in ["wasm_exporter_", "haproxy_", "rpc_", "process_"] {
        ensure!(
            queried.iter().any(|n| n.starts_with(prefix)),
            "nothing queried from {prefix}*"
        );
    }
    Ok(())
}

/// The `--flag` names our binary accepts, from its own `--help`.
pub(crate) fn our_flags() -> Result<BTreeSet<String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_wasm_exporter"))
        .arg("--help")
        .output()?;
    let help = String::from_utf8_lossy(&out.stdout);
    Ok(help
        .split_whitespace()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.trim_end_matches([',', '.']).to_owned())
        .collect())
}

pub(crate) fn flags_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '\\')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.split('=').next().unwrap_or(w).to_owned())
        .collect()
}

fn yaml_docs(file: &str) -> Result<Vec<serde_json::Value>> {
    let text = read(file)?;
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(&text) {
        let value: serde_json::Value = serde::Deserialize::deserialize(doc)
            .with_context(|| format!("deploy/{file} is not valid YAML"))?;
        docs.push(value);
    }
    Ok(docs)
}

#[test]
fn kubernetes_manifests_fit_together() -> Result<()> {
    let mut by_kind = std::collections::BTreeMap::new();
    for file in [
        "configmap.yaml",
        "daemonset.yaml",
        "service.yaml",
        "servicemonitor.yaml",
    ] {
        for doc in yaml_docs(&format!("kubernetes/{file}"))? {
            let kind = doc["kind"].as_str().context("kind")?.to_owned();
            ensure!(
                doc["apiVersion"].is_string() && doc["metadata"]["name"].is_string(),
                "{file}"
            );
            by_kind.insert(kind, doc);
        }
    }
    let ds = by_kind.get("DaemonSet").context("no DaemonSet")?;
    let svc = by_kind.get("Service").context("no Service")?;
    let sm = by_kind.get("ServiceMonitor").context("no ServiceMonitor")?;
    let cm = by_kind.get("ConfigMap").context("no ConfigMap")?;

    let pod = &ds["spec"]["template"];
    let container = &pod["spec"]["containers"][0];
    let labels = &pod["metadata"]["labels"];
    for (what, selector) in [
        ("DaemonSet", &ds["spec"]["selector"]["matchLabels"]),
        ("Service", &svc["spec"]["selector"]),
    ] {
        let selector = selector.as_object().context("selector")?;
        for (k, v) in selector {
            ensure!(
                &labels[k] == v,
                "{what} selector {k}={v} does not match the pods"
            );
        }
    }
    let port = &container["ports"][0];
    ensure!(svc["spec"]["ports"][0]["targetPort"] == port["name"]);
    ensure!(sm["spec"]["endpoints"][0]["port"] == svc["spec"]["ports"][0]["name"]);
    ensure!(svc["metadata"]["annotations"]["prometheus.io/scrape"] == "true");
    ensure!(
        svc["metadata"]["annotations"]["prometheus.io/port"].as_str()
            == Some(port["containerPort"].to_string().as_str())
    );
    for (k, v) in sm["spec"]["selector"]["matchLabels"]
        .as_object()
        .context("ServiceMonitor selector")?
    {
        ensure!(
            &svc["metadata"]["labels"][k] == v,
            "ServiceMonitor does not select the Service"
        );
    }
    // The plugins volume is the ConfigMap, mounted read-only where --plugins.dir points.
    let args: Vec<&str> = container["args"]
        .as_array()
        .context("args")?
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    let ours = our_flags()?;
    for a in &args {
        let flag = a.split('=').next().unwrap_or(a);
        ensure!(
            ours.contains(flag),
            "the DaemonSet passes {flag}, which wasm_exporter does not know"
        );
    }
    let mount = container["volumeMounts"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "plugins"))
        .context("plugins mount")?;
    ensure!(mount["readOnly"] == true);
    ensure!(
        args.contains(
            &format!(
                "--plugins.dir={}",
                mount["mountPath"].as_str().unwrap_or("")
            )
            .as_str()
        )
    );
    let volume = pod["spec"]["volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == "plugins"))
        .context("plugins volume")?;
    ensure!(volume["configMap"]["name"] == cm["metadata"]["name"]);
    // The plugin settings in the ConfigMap are ones the exporter accepts:
    // the same text as deploy/kubernetes/haproxy.yml, which a test plugin dir loads.
    ensure!(
        cm["data"]["haproxy.yml"]
            .as_str()
            .is_some_and(|s| s.contains("scrape_uri"))
    );
    Ok(())
}

#[test]
fn kubernetes_plugin_settings_load_and_are_the_config_map_s() -> Result<()> {
    let settings = read("kubernetes-plugins/haproxy.yml")?;
    let cm = &yaml_docs("kubernetes/configmap.yaml")?[0];
    // `kubectl create configmap --from-file` puts the file's text there:
    // the shipped ConfigMap says the same.
    ensure!(
        cm["data"]["haproxy.yml"].as_str() == Some(settings.as_str()),
        "configmap.yaml's haproxy.yml differs from deploy/kubernetes-plugins/haproxy.yml"
    );
    let dir = PluginsDir::new("k8s-settings");
    dir.add("haproxy", "haproxy", Some(&settings));
    let exporter = Exporter::start(&dir.path, &[])?;
    let logs = exporter.logs_matching(&["error"]);
    ensure!(
        logs.iter()
            .all(|l| !l.contains("NAME.yml") && !l.contains("manifest")),
        "{logs:?}"
    );
    Ok(())
}

/// Runs `command`: whether it succeeded, and its stdout and stderr.
fn outcome(command: &mut Command) -> Result<(bool, String)> {
    let out = command.output()?;
    Ok((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// The Kubernetes schema validator's report on `files`: success, stdout.
fn k8s_schema(files: &[PathBuf]) -> Result<(bool, String)> {
    outcome(Command::new(go_tool("WASM_EXPORTER_K8S_SCHEMA", "tools/k8s-schema")).args(files))
}

#[test]
fn every_file_in_deploy_kubernetes_is_a_manifest_the_api_schemas_accept() -> Result<()> {
    // `kubectl apply -f deploy/kubernetes/` applies every file there.
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy("kubernetes"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    ensure!(files.len() >= 4, "{files:?}");
    let (ok, report) = k8s_schema(&files)?;
    ensure!(ok, "{report}");
    for kind in ["DaemonSet", "Service", "ConfigMap", "ServiceMonitor"] {
        ensure!(report.contains(&format!(" {kind} ok")), "{kind}: {report}");
    }
    // The validator refuses what the API would: a misspelt field, a file
    // that is no manifest.
    let dir = std::env::temp_dir().join(format!("wasm_exporter-k8s-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let typo = dir.join("daemonset.yaml");
    std::fs::write(
        &typo,
        read("kubernetes/daemonset.yaml")?.replace("updateStrategy:", "updateStrategyy:"),
    )?;
    let (ok, report) = k8s_schema(&[typo, deploy("kubernetes-plugins/haproxy.yml")])?;
    let _ = std::fs::remove_dir_all(&dir);
    ensure!(
        !ok && report.contains("unknown field \"spec.updateStrategyy\"")
            && report.contains("haproxy.yml: document 1: Object 'Kind' is missing"),
        "{report}"
    );
    Ok(())
}

/// `promtool check config` of `binary` on `file`: success, output.
fn check_config(binary: &Path, file: &Path) -> Result<(bool, String)> {
    outcome(Command::new(binary).args(["check", "config"]).arg(file))
}

#[test]
fn every_shipped_scrape_config_passes_promtool_3_and_2_42_as_shipped() -> Result<()> {
    let docs = yaml_docs("prometheus/kubernetes-sd.yml")?;
    ensure!(docs[0]["scrape_configs"][0]["kubernetes_sd_configs"][0]["role"] == "endpoints");
    let promtool3 = go_tool("WASM_EXPORTER_PROMTOOL3", "prometheus-3.16.0/promtool");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(deploy("prometheus"))? {
        let file = entry?.path();
        if !std::fs::read_to_string(&file)?.contains("scrape_configs:") {
            continue; // a plugin's NAME.yml (haproxy-module.yml)
        }
        let (ok, out) = check_config(&promtool3, &file)?;
        ensure!(ok, "promtool 3, {}: {out}", file.display());
        // Debian's 2.42 is built without Kubernetes discovery.
        if !file.ends_with("kubernetes-sd.yml") {
            let (ok, out) = check_config(Path::new("promtool"), &file)?;
            ensure!(ok, "promtool 2.42, {}: {out}", file.display());
        }
        checked.push(file);
    }
    ensure!(checked.len() == 2, "{checked:?}");
    Ok(())
}
