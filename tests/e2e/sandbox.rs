//! The sandbox, round two: plugins hostile in one way each, beside a
//! healthy one, through the real binary. The healthy plugin stays up with
//! its own values, the host's self-metrics stay the host's, every format
//! still parses, and the bad plugin is reported with a reason.

use anyhow::Result;

use crate::support::*;

#[test]
fn a_prober_of_the_wrong_type_is_refused_at_load_naming_the_export() -> Result<()> {
    let dir = PluginsDir::new("sandbox-bad-prober");
    dir.add("conformance", "conformance", None);
    dir.add("bad-prober", "bad-prober", None);
    let e = Exporter::start(&dir.path, &[])?;
    let body = e.scrape_text()?;
    assert_eq!(plugin_up(&body, "conformance"), Some(1.0));
    assert_eq!(plugin_up(&body, "bad-prober"), Some(0.0));
    assert_eq!(
        sample(
            &body,
            "wasm_exporter_plugin_errors_total{plugin=\"bad-prober\",reason=\"load\"}"
        ),
        Some(1.0)
    );
    let refused = e.wait_for_log(&[
        "plugin not loaded",
        "wasm-exporter:plugin/prober@0.2.0: probe has the wrong type",
    ]);
    assert_eq!(refused.len(), 1, "{refused:#?}");
    // Not a module that probes: /probe says why, and probes nothing.
    let r = e.get("/probe?module=bad-prober&target=http://127.0.0.1:9/", &[])?;
    assert_eq!(r.status, 503, "{}", r.text()?);
    assert!(
        r.text()?.contains("probe has the wrong type"),
        "{}",
        r.text()?
    );
    assert!(
        !body.contains("wasm_exporter_probes_total{module=\"bad-prober\"}"),
        "{body}"
    );
    Ok(())
}
