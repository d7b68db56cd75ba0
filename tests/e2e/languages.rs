//! One contract, four languages: the conformance plugin written with the
//! Rust, Python (componentize-py), JavaScript (componentize-js) and Go
//! (stock Go, `plugin componentize`) SDKs gives the same exposition, byte
//! for byte, in text, OpenMetrics and protobuf; and the others serve next
//! to the Rust one.

use std::process::Command;

use anyhow::Result;

use crate::support::*;

const LANGUAGES: [&str; 3] = ["conformance-py", "conformance-js", "conformance-go"];

fn checked(plugin_name: &str, format: &str) -> Result<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_wasm_exporter"))
        .args(["check", "--format", format])
        .arg(plugin(plugin_name))
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(out.status.success(), "{plugin_name}: {stderr}");
    Ok(String::from_utf8(out.stdout)?)
}

#[test]
fn the_four_conformance_plugins_agree_byte_for_byte() -> Result<()> {
    for format in ["text", "openmetrics"] {
        let rust = checked("conformance", format)?;
        assert!(rust.contains("conformance_requests_total"), "{rust}");
        for other in LANGUAGES {
            let theirs = checked(other, format)?;
            if theirs != rust {
                let first = rust
                    .lines()
                    .zip(theirs.lines())
                    .find(|(a, b)| a != b)
                    .map(|(a, b)| format!("rust:  {a}\n{other}: {b}"))
                    .unwrap_or_else(|| "one is a prefix of the other".into());
                panic!("{other} differs from the Rust plugin in {format}:\n{first}");
            }
        }
    }
    Ok(())
}

/// Native histograms and UTF-8 names reach Prometheus over protobuf: the
/// four plugins' first scrapes decode to the same families.
#[test]
fn the_four_conformance_plugins_agree_over_protobuf() -> Result<()> {
    let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8";
    let decoded = |plugin_name: &str| -> Result<String> {
        let dir = PluginsDir::new(&format!("languages-protobuf-{plugin_name}"));
        dir.add("conformance", plugin_name, None);
        let exporter = Exporter::start(&dir.path, &[])?;
        let r = exporter.get("/metrics", &[("Accept", accept)])?;
        crate::protobuf::decode_protobuf(&r.body, true)
    };
    let rust = decoded("conformance")?;
    assert!(
        rust.contains("name: \"conformance.utf8.temperature\""),
        "{rust}"
    );
    assert!(rust.contains("positive_delta"), "{rust}");
    for other in LANGUAGES {
        assert_eq!(
            decoded(other)?,
            rust,
            "{other} differs from the Rust plugin over protobuf"
        );
    }
    Ok(())
}

#[test]
fn python_javascript_and_go_plugins_serve_beside_the_rust_one() -> Result<()> {
    let dir = PluginsDir::new("languages-served");
    dir.add("conformance", "conformance", None)
        .add("py", "conformance-py", Some("config: {prefix: py}\n"))
        .add("js", "conformance-js", Some("config: {prefix: js}\n"))
        .add("go", "conformance-go", Some("config: {prefix: go}\n"));
    let exporter = Exporter::start(&dir.path, &[])?;
    // Twice: the second collect shows that state lives between scrapes.
    exporter.scrape_text()?;
    let body = exporter.scrape_text()?;
    for (plugin, prefix) in [
        ("conformance", "conformance"),
        ("py", "py"),
        ("js", "js"),
        ("go", "go"),
    ] {
        assert_eq!(plugin_up(&body, plugin), Some(1.0), "{body}");
        assert_eq!(
            sample(&body, &format!("{prefix}_collects_total")),
            Some(2.0),
            "{prefix}: {body}"
        );
    }
    let lines = |prefix: &str| -> Vec<String> {
        body.lines()
            .filter(|l| {
                let name = l
                    .strip_prefix("# HELP ")
                    .or_else(|| l.strip_prefix("# TYPE "))
                    .unwrap_or(l);
                name.starts_with(&format!("{prefix}_"))
            })
            .map(|l| l.replace(&format!("{prefix}_"), "X_"))
            .collect()
    };
    assert_eq!(lines("py"), lines("conformance"));
    assert_eq!(lines("js"), lines("conformance"));
    assert_eq!(lines("go"), lines("conformance"));
    let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &body)?;
    assert!(ok, "promtool check metrics:\n{out}");
    exporter.terminate()?;
    Ok(())
}
