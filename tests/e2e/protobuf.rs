//! Prometheus 3 exposition through the real binary: protobuf checked by
//! Python's protobuf package (golden, in text form for review), the
//! `Accept` headers real scrapers send, UTF-8 names under every escaping
//! scheme (golden), zstd and gzip.

use anyhow::Result;

use crate::scrapers::{PROMETHEUS_2_42_NATIVE, PROMETHEUS_3};
use crate::support::*;

fn conformance(test: &str) -> Result<(PluginsDir, Exporter)> {
    let dir = PluginsDir::new(test);
    dir.add("conformance", "conformance", None);
    let exporter = Exporter::start(&dir.path, &[])?;
    Ok((dir, exporter))
}

/// Decodes a protobuf body with the independent parser; its text form.
pub fn decode_protobuf(body: &[u8], skip_host: bool) -> Result<String> {
    let script = tests_dir().join("scripts/decode_protobuf.py");
    let mut args = vec![script.to_str().unwrap()];
    if skip_host {
        args.push("--skip-host");
    }
    let (ok, out, err) = run_with_bytes(&python(), &args, body)?;
    anyhow::ensure!(ok, "Python's protobuf parser rejected the body:\n{err}");
    Ok(out)
}

#[test]
fn protobuf_is_read_by_an_independent_parser_and_matches_its_golden_file() -> Result<()> {
    let (_dir, exporter) = conformance("protobuf-golden")?;
    let r = exporter.get("/metrics", &[("Accept", PROMETHEUS_2_42_NATIVE)])?;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some(
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores"
        )
    );
    golden("conformance.pb.txt", &decode_protobuf(&r.body, true)?);
    // The exporter's own families decode too.
    let all = decode_protobuf(&r.body, false)?;
    assert!(all.contains("name: \"wasm_exporter_plugin_up\""), "{all}");
    Ok(())
}

/// Every kind keeps its values across formats: the protobuf families are
/// the text format's, by name and type.
#[test]
fn protobuf_carries_the_families_text_does() -> Result<()> {
    let (_dir, exporter) = conformance("protobuf-families")?;
    let text = exporter.scrape_text()?;
    let r = exporter.get("/metrics", &[("Accept", PROMETHEUS_2_42_NATIVE)])?;
    let decoded = decode_protobuf(&r.body, false)?;
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut parts = line.split(' ').skip(2);
        let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
        // Text shows a gauge histogram's totals as gauges of their own.
        if name.ends_with("_gcount") || name.ends_with("_gsum") {
            continue;
        }
        let want = match kind {
            "untyped" => "UNTYPED",
            "histogram" if name.contains("queue_wait") => "GAUGE_HISTOGRAM",
            other => &other.to_uppercase(),
        };
        let block = format!("name: \"{name}\"");
        let at = decoded
            .find(&block)
            .unwrap_or_else(|| panic!("{name} missing from protobuf:\n{decoded}"));
        let rest = &decoded[at..];
        let end = rest.find("\n\n").unwrap_or(rest.len());
        assert!(
            rest[..end].contains(&format!("type: {want}")),
            "{name}: want {want} in\n{}",
            &rest[..end]
        );
    }
    Ok(())
}

#[test]
fn utf8_names_under_each_escaping_scheme_match_the_golden_file() -> Result<()> {
    let (_dir, exporter) = conformance("escaping-golden")?;
    let mut out = String::new();
    let cases = [
        (
            "text/plain;version=1.0.0;escaping=allow-utf-8",
            "allow-utf-8",
        ),
        (
            "text/plain;version=1.0.0;escaping=underscores",
            "underscores",
        ),
        ("text/plain;version=1.0.0;escaping=dots", "dots"),
        ("text/plain;version=1.0.0;escaping=values", "values"),
        ("text/plain;version=1.0.0", "underscores"),
        ("text/plain;version=0.0.4;escaping=allow-utf-8", ""),
    ];
    for (accept, echoed) in cases {
        let r = exporter.get("/metrics", &[("Accept", accept)])?;
        let ct = r.header("content-type").unwrap_or_default().to_owned();
        if echoed.is_empty() {
            assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
        } else {
            assert_eq!(
                ct,
                format!("text/plain; version=1.0.0; charset=utf-8; escaping={echoed}")
            );
        }
        out.push_str(&format!("## Accept: {accept}\n"));
        let body = r.text()?;
        for line in body
            .lines()
            .filter(|l| l.contains("utf8") || l.contains("2e_"))
        {
            out.push_str(line);
            out.push('\n');
        }
    }
    golden("conformance.utf8.txt", &out);
    Ok(())
}

#[test]
fn prometheus_3_gets_openmetrics_with_quoted_utf8_names_that_pythons_parser_reads() -> Result<()> {
    let (_dir, exporter) = conformance("utf8-openmetrics")?;
    let r = exporter.get("/metrics", &[("Accept", PROMETHEUS_3)])?;
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8")
    );
    let body = r.text()?;
    assert!(
        body.contains(r#"{"conformance.utf8.temperature","room.name"="kitchen","sensor \"id\""="t-1",plain="x"} 21"#),
        "{body}"
    );
    const PARSE: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
from prometheus_client.parser import text_string_to_metric_families as text
parse = om if sys.argv[1] == "om" else text
for f in parse(sys.stdin.read()):
    if "utf8" in f.name:
        for s in f.samples:
            print(s.name, sorted(s.labels.items()), s.value)
"#;
    let (ok, out) = run_with_stdin(&python(), &["-c", PARSE, "om"], &body)?;
    assert!(ok, "{out}");
    assert!(
        out.contains(r#"conformance.utf8.temperature [('plain', 'x'), ('room.name', 'kitchen'), ('sensor "id"', 't-1')] 21.0"#),
        "{out}"
    );
    let r = exporter.get(
        "/metrics",
        &[("Accept", "text/plain;version=1.0.0;escaping=allow-utf-8")],
    )?;
    let (ok, out) = run_with_stdin(&python(), &["-c", PARSE, "text"], &r.text()?)?;
    assert!(ok, "{out}");
    assert!(out.contains("('room.name', 'küche')"), "{out}");
    Ok(())
}

#[test]
fn zstd_and_gzip_as_accept_encoding_ranks_them() -> Result<()> {
    let (_dir, exporter) = conformance("zstd")?;
    let r = exporter.get("/metrics", &[("Accept-Encoding", "gzip;q=0.5, zstd")])?;
    assert_eq!(r.header("content-encoding"), Some("zstd"));
    let plain = String::from_utf8(zstd::decode_all(&r.body[..])?)?;
    assert!(plain.contains("conformance_mystery 42"), "{plain}");

    let r = exporter.get("/metrics", &[("Accept-Encoding", "zstd;q=0.1, gzip")])?;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut plain)?;
    assert!(plain.contains("conformance_mystery 42"), "{plain}");

    let r = exporter.get("/metrics", &[("Accept-Encoding", "br")])?;
    assert_eq!(r.header("content-encoding"), None);
    assert!(r.text()?.contains("conformance_mystery 42"));

    // Protobuf compresses the same way.
    let r = exporter.get(
        "/metrics",
        &[
            ("Accept", PROMETHEUS_2_42_NATIVE),
            ("Accept-Encoding", "zstd"),
        ],
    )?;
    assert_eq!(r.header("content-encoding"), Some("zstd"));
    let decoded = decode_protobuf(&zstd::decode_all(&r.body[..])?, true)?;
    assert!(decoded.contains("schema: 3"), "{decoded}");
    Ok(())
}

#[test]
fn names_equal_once_escaped_keep_the_first_and_the_clash_is_counted_and_logged_once() -> Result<()>
{
    let dir = PluginsDir::new("escape-clash");
    dir.add(
        "dotted",
        "conformance",
        Some("config:\n  prefix: srv.one\n"),
    )
    .add("plain", "conformance", Some("config:\n  prefix: srv_one\n"));
    let exporter = Exporter::start(&dir.path, &[])?;
    for _ in 0..2 {
        let body = exporter.scrape_text()?;
        // One srv_one_mystery: the first in name order ("srv.one_mystery").
        assert_eq!(body.matches("\nsrv_one_mystery ").count(), 1, "{body}");
        let (ok, out) = run_with_stdin("promtool", &["check", "metrics"], &body)?;
        assert!(ok, "{out}");
    }
    let body = exporter.scrape_text()?;
    assert_eq!(plugin_up(&body, "plain"), Some(1.0));
    // 11 families of `plain` clash per scrape; two scrapes before this one.
    assert_eq!(
        sample(&body, "wasm_exporter_escape_clashes_total"),
        Some(22.0),
        "{body}"
    );
    let logged =
        exporter.logs_matching(&["format and escaping cannot carry", "family srv_one_mystery"]);
    assert_eq!(logged.len(), 1, "{logged:#?}");
    // Nothing clashes for a scraper that takes UTF-8 names.
    let r = exporter.get(
        "/metrics",
        &[("Accept", "text/plain;version=1.0.0;escaping=allow-utf-8")],
    )?;
    let body = r.text()?;
    assert!(body.contains("\nsrv_one_mystery 42"), "{body}");
    assert!(body.contains("\n{\"srv.one_mystery\"} 42"), "{body}");
    Ok(())
}
