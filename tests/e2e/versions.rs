//! Contract versions side by side: plugins built for 0.1.0 and 0.2.0
//! (committed as fixtures, `tests/fixtures/wit-0.1.0/` and `wit-0.2.0/`)
//! keep loading and serving what they served then, beside 0.3.0 plugins;
//! one built for a newer contract is refused naming the versions.

use anyhow::Result;

use crate::support::*;

fn fixture(version: &str, name: &str) -> std::path::PathBuf {
    tests_dir()
        .join(format!("fixtures/wit-{version}"))
        .join(name)
}

/// The lines about the plugin's own families (the host's change with it),
/// under `prefix`.
fn plugin_lines(exposition: &str, prefix: &str) -> String {
    exposition
        .lines()
        .filter(|l| {
            let name = l
                .strip_prefix("# HELP ")
                .or_else(|| l.strip_prefix("# TYPE "))
                .or_else(|| l.strip_prefix("# UNIT "))
                .unwrap_or(l);
            name.starts_with(prefix)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn plugins_built_for_0_1_0_and_0_2_0_serve_what_they_served_beside_a_0_3_0_one() -> Result<()> {
    for version in ["0.1.0", "0.2.0"] {
        let dir = PluginsDir::new(&format!("contract-{version}"));
        dir.write(
            "conformance.wasm",
            &std::fs::read(fixture(version, "conformance.wasm"))?,
        );
        dir.add(
            "current",
            "conformance",
            Some("config:\n  prefix: current\n"),
        );
        let exporter = Exporter::start(&dir.path, &[])?;
        let contract = format!("contract={version}");
        exporter.wait_for_log(&["plugin loaded", "plugin=conformance", &contract]);
        exporter.wait_for_log(&["plugin loaded", "plugin=current", "contract=0.3.0"]);

        // Each golden file is a first scrape (collects_total 1).
        let text = exporter.scrape_text()?;
        let frozen = std::fs::read_to_string(fixture(version, "conformance.prom"))?;
        assert_eq!(
            plugin_lines(&text, "conformance"),
            plugin_lines(&frozen, "conformance"),
            "{version}"
        );
        let again = Exporter::start(&dir.path, &[])?;
        let om = again.scrape_openmetrics()?;
        let frozen = std::fs::read_to_string(fixture(version, "conformance.om"))?;
        assert_eq!(
            plugin_lines(&om, "conformance"),
            plugin_lines(&frozen, "conformance"),
            "{version}"
        );

        assert_eq!(plugin_up(&text, "conformance"), Some(1.0));
        assert_eq!(plugin_up(&text, "current"), Some(1.0));
        // The current plugin serves what 0.1.0 cannot carry.
        assert!(text.contains("current_native_duration_seconds_count{handler=\"/both\"} 9"));
    }
    Ok(())
}

#[test]
fn a_plugin_built_for_a_newer_contract_is_refused_naming_both_versions() -> Result<()> {
    // The current conformance plugin with every `@0.3.0` in its interface
    // names made `@0.4.0`: what a plugin built for a later contract looks
    // like to this host.
    let mut wasm = std::fs::read(plugin("conformance"))?;
    let (from, to) = (b"wasm-exporter:plugin/", b"@0.3.0");
    let mut patched = 0;
    let mut i = 0;
    while let Some(at) = wasm[i..]
        .windows(from.len())
        .position(|w| w == from)
        .map(|p| p + i)
    {
        let end = (at + from.len()..wasm.len().min(at + 64)).find(|&j| wasm[j..].starts_with(to));
        if let Some(end) = end {
            wasm[end + 3] = b'4';
            patched += 1;
        }
        i = at + 1;
    }
    assert!(patched > 0, "no interface names found to patch");
    let dir = PluginsDir::new("contract-newer");
    dir.write("future.wasm", &wasm);
    dir.add("conformance", "conformance", None);
    let exporter = Exporter::start(&dir.path, &[])?;
    let lines = exporter.wait_for_log(&["plugin not loaded", "future"]);
    let line = lines.join("\n");
    assert!(
        line.contains("built for wasm-exporter:plugin@0.4.0, newer than this host knows (wasm-exporter:plugin@0.1.0, @0.2.0 and @0.3.0)"),
        "{line}"
    );
    // The others keep serving.
    let text = exporter.scrape_text()?;
    assert_eq!(plugin_up(&text, "conformance"), Some(1.0));
    assert_eq!(plugin_up(&text, "future"), Some(0.0));
    Ok(())
}
