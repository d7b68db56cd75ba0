//! The landing page as a real browser renders it: Debian's headless
//! Chromium, with one healthy plugin and one failing.

use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::support::*;

/// The DOM Chromium builds for `url` (`--dump-dom`), with the flags that
/// keep it off the network and out of any profile.
fn render(url: &str, test: &str) -> Result<String> {
    let profile = std::env::temp_dir().join(format!(
        "wasm_exporter-chromium-{test}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .output()
        .context("running chromium (make test installs it)")?;
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    ensure!(
        out.status.success() && dom.contains("</html>"),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(dom)
}

/// The `<tr>` of the plugins table for `plugin`.
fn row<'a>(dom: &'a str, plugin: &str) -> Option<&'a str> {
    let cell = format!("<td class=\"plugin\">{plugin}</td>");
    dom.split("<tr")
        .find(|r| r.contains(&cell))
        .map(|r| r.split("</tr>").next().unwrap_or(r))
}

/// The text of the cell of class `class` in `row`.
fn cell<'a>(row: &'a str, class: &str) -> Result<&'a str> {
    row.split(&format!("<td class=\"{class}\">"))
        .nth(1)
        .and_then(|c| c.split("</td>").next())
        .with_context(|| format!("no {class} cell in {row}"))
}

#[test]
fn landing_page_in_headless_chromium() -> Result<()> {
    let dir = PluginsDir::new("browser");
    dir.add("healthy", "latency-simulator", None);
    dir.add(
        "failing",
        "faulty",
        Some("config:\n  fault: panic_collect\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    // One scrape, so both have a status to show.
    ensure!(exporter.get("/metrics", &[])?.status == 200);

    let dom = render(&format!("http://{}/", exporter.addr), "landing")?;

    let healthy = row(&dom, "healthy").context("no row for the healthy plugin")?;
    ensure!(healthy.contains("class=\"ok\""), "{healthy}");
    ensure!(cell(healthy, "state")? == "up", "{healthy}");
    ensure!(cell(healthy, "name")? == "latency-simulator", "{healthy}");
    ensure!(
        cell(healthy, "version")? == env!("CARGO_PKG_VERSION"),
        "{healthy}"
    );
    ensure!(cell(healthy, "duration")?.ends_with(" s"), "{healthy}");
    let series: u64 = cell(healthy, "series")?.trim().parse()?;
    ensure!(series > 0, "series: {healthy}");
    ensure!(cell(healthy, "error")?.is_empty(), "{healthy}");

    let failing = row(&dom, "failing").context("no row for the failing plugin")?;
    ensure!(failing.contains("class=\"down\""), "{failing}");
    ensure!(cell(failing, "state")? == "down", "{failing}");
    let error = cell(failing, "error")?;
    ensure!(error.contains("trap"), "failing plugin's error: {error:?}");

    ensure!(dom.contains("href=\"/metrics\""), "no link to /metrics");
    let footer = dom.split("id=\"build\"").nth(1).context("no build info")?;
    ensure!(
        footer.contains(env!("CARGO_PKG_VERSION")) && footer.contains("wasmtime"),
        "{footer}"
    );
    // Plain HTML and CSS: nothing for the browser to fetch elsewhere.
    for external in ["<script", "<link", "src=\"http", "@import", "url("] {
        ensure!(!dom.contains(external), "external asset: {external}");
    }
    Ok(())
}
