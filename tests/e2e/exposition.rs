//! The conformance plugin's output in both formats: golden files, promtool,
//! and the Python client's independent parsers.

use anyhow::Result;

use crate::support::*;

fn conformance_exporter(test: &str) -> Result<(PluginsDir, Exporter)> {
    let dir = PluginsDir::new(test);
    dir.add("conformance", "conformance", None);
    let exporter = Exporter::start(&dir.path, &[])?;
    Ok((dir, exporter))
}

#[test]
fn text_format_matches_golden_file() -> Result<()> {
    let (_dir, exporter) = conformance_exporter("golden-text")?;
    golden("conformance.prom", &mask(&exporter.scrape_text()?));
    Ok(())
}

#[test]
fn openmetrics_matches_golden_file() -> Result<()> {
    let (_dir, exporter) = conformance_exporter("golden-om")?;
    let body = exporter.scrape_openmetrics()?;
    assert!(body.ends_with("# EOF\n"), "no # EOF at the end");
    golden("conformance.om", &mask(&body));
    Ok(())
}

#[test]
fn promtool_accepts_text_output() -> Result<()> {
    let (_dir, exporter) = conformance_exporter("promtool")?;
    let body = exporter.scrape_text()?;
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &body)?;
    assert!(ok, "promtool check metrics failed:\n{out}");
    Ok(())
}

const PY_PARSE: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
from prometheus_client.parser import text_string_to_metric_families as text
parse = om if sys.argv[1] == "openmetrics" else text
for f in parse(sys.stdin.read()):
    exemplars = sum(1 for s in f.samples if s.exemplar is not None)
    print(f.name, f.type, f.unit or "-", len(f.samples), exemplars)
"#;

pub fn python_parse(format: &str, body: &str) -> Result<Vec<String>> {
    let (ok, out) = run_with_stdin(&python(), &["-c", PY_PARSE, format], body)?;
    assert!(ok, "Python {format} parser rejected the output:\n{out}");
    Ok(out.lines().map(str::to_owned).collect())
}

#[test]
fn python_openmetrics_parser_accepts_output() -> Result<()> {
    let (_dir, exporter) = conformance_exporter("python-om")?;
    let families = python_parse("openmetrics", &exporter.scrape_openmetrics()?)?;
    let find = |name: &str| {
        families
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .cloned()
    };
    // name type unit samples exemplars, as the parser understood them.
    assert_eq!(
        find("conformance_requests").as_deref(),
        Some("conformance_requests counter - 5 1")
    );
    assert_eq!(
        find("conformance_request_duration_seconds").as_deref(),
        Some("conformance_request_duration_seconds histogram seconds 11 2")
    );
    assert_eq!(
        find("conformance_queue_wait_seconds").as_deref(),
        Some("conformance_queue_wait_seconds gaugehistogram seconds 5 0")
    );
    assert_eq!(
        find("conformance_rpc_duration_seconds").as_deref(),
        Some("conformance_rpc_duration_seconds summary seconds 10 0")
    );
    assert_eq!(
        find("conformance_build").as_deref(),
        Some("conformance_build info - 1 0")
    );
    assert_eq!(
        find("conformance_mode").as_deref(),
        Some("conformance_mode stateset - 3 0")
    );
    assert_eq!(
        find("conformance_mystery").as_deref(),
        Some("conformance_mystery unknown - 1 0")
    );
    assert_eq!(
        find("conformance_temperature_celsius").as_deref(),
        Some("conformance_temperature_celsius gauge celsius 8 0")
    );
    assert!(find("wasm_exporter_plugin_up").is_some(), "{families:?}");
    Ok(())
}

#[test]
fn python_text_parser_accepts_output() -> Result<()> {
    let (_dir, exporter) = conformance_exporter("python-text")?;
    let families = python_parse("text", &exporter.scrape_text()?)?;
    let names: Vec<&str> = families
        .iter()
        .filter_map(|l| l.split(' ').next())
        .collect();
    for want in [
        "conformance_requests",
        "conformance_request_duration_seconds",
        "conformance_temperature_celsius",
        "wasm_exporter_plugin_up",
    ] {
        assert!(names.contains(&want), "{want} not parsed: {families:?}");
    }
    Ok(())
}

#[test]
fn labels_and_values_survive_a_round_trip() -> Result<()> {
    // The Python parser must give back exactly the awkward values the plugin sent.
    let (_dir, exporter) = conformance_exporter("roundtrip")?;
    let script = r#"
import sys, json
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
out = []
for f in om(sys.stdin.read()):
    if f.name in ("conformance_requests", "conformance_temperature_celsius"):
        out.append({"help": f.documentation, "samples": [[s.name, s.labels, repr(s.value), s.timestamp and str(s.timestamp)] for s in f.samples]})
print(json.dumps(out, ensure_ascii=False, sort_keys=True))
"#;
    let (ok, out) = run_with_stdin(&python(), &["-c", script], &exporter.scrape_openmetrics()?)?;
    assert!(ok, "{out}");
    let parsed: serde_json::Value = serde_json::from_str(out.trim())?;
    let requests = &parsed[0];
    assert_eq!(
        requests["help"],
        "Requests with \"quotes\", a backslash \\ and a\nnewline in the help."
    );
    let paths: Vec<&str> = requests["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s[0] == "conformance_requests_total")
        .filter_map(|s| s[1]["path"].as_str())
        .collect();
    assert_eq!(paths, ["/a\"quoted\"/b\\c\nd", "/ünïcödé/日本語", ""]);
    let temps = parsed[1]["samples"]
        .as_array()
        .cloned()
        .expect("the temperature family's samples");
    let value = |sensor: &str| {
        temps
            .iter()
            .find(|s| s[1]["sensor"] == sensor)
            .map(|s| s[2].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(value("hot").as_deref(), Some("inf"));
    assert_eq!(value("frozen").as_deref(), Some("-inf"));
    assert_eq!(value("broken").as_deref(), Some("nan"));
    assert_eq!(value("tiny").as_deref(), Some("1e-05"));
    assert_eq!(value("huge").as_deref(), Some("1.5e+21"));
    let stamped = temps
        .iter()
        .find(|s| s[1]["sensor"] == "stamped")
        .map(|s| s[3].clone());
    assert_eq!(stamped, Some(serde_json::json!("1700000200.123000000")));
    Ok(())
}

#[test]
fn self_metrics_report_each_plugin() -> Result<()> {
    let (_dir, exporter) = conformance_exporter("selfmetrics")?;
    let body = exporter.scrape_text()?;
    assert_eq!(
        sample(&body, "wasm_exporter_plugin_up{plugin=\"conformance\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&body, "wasm_exporter_plugin_series{plugin=\"conformance\"}"),
        Some(25.0)
    );
    assert_eq!(
        sample(
            &body,
            "wasm_exporter_plugin_info{plugin=\"conformance\",name=\"conformance\",version=\"0.1.0\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &body,
            "wasm_exporter_plugin_errors_total{plugin=\"conformance\",reason=\"trap\"}"
        ),
        Some(0.0)
    );
    let duration = sample(
        &body,
        "wasm_exporter_plugin_collect_duration_seconds{plugin=\"conformance\"}",
    );
    assert!(duration.is_some_and(|d| d > 0.0), "{duration:?}");
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(sample(&body, name).is_some(), "{name} missing");
    }
    // Samples are made fresh per scrape: the plugin's own counter moves.
    let first = sample(&body, "conformance_collects_total");
    let second = sample(&exporter.scrape_text()?, "conformance_collects_total");
    assert_eq!((first, second), (Some(1.0), Some(2.0)));
    Ok(())
}
