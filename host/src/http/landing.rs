//! The landing page: the plugins, their state and last error, and a link to
//! the metrics. Plain HTML, no external assets.

use hyper::Response;
use hyper::header::{self, HeaderValue};

use super::{App, Body};

impl App {
    pub(super) fn landing(&self) -> Response<Body> {
        let mut rows = String::new();
        if let Some(scraper) = self.scraper.get() {
            for plugin in &scraper.plugins().current().plugins {
                let status = self.selfmetrics.statuses.get(&plugin.name);
                let (name, version, description) = status
                    .metadata
                    .as_ref()
                    .map(|m| (m.name.as_str(), m.version.as_str(), m.description.as_str()))
                    .unwrap_or(("", "", ""));
                let enabled = scraper.enabled(plugin);
                // A plugin whose files failed to load is down from the
                // start, with that error, before any scrape.
                let load_error = plugin.load_error();
                let (state, down) = match (enabled, &load_error, status.collected, status.up) {
                    (false, _, _, _) => ("disabled", false),
                    (true, Some(_), _, _) => ("down", true),
                    (true, None, false, _) => ("not collected yet", false),
                    (true, None, true, true) => ("up", false),
                    (true, None, true, false) => ("down", true),
                };
                let mut said: Vec<String> = Vec::new();
                if let Some(error) = load_error.or(status.last_error.clone()) {
                    said.push(error);
                }
                if let Some(warning) = status.warning.as_ref().filter(|_| status.up) {
                    said.push(format!("warning: fetch failed: {warning}"));
                }
                if let Some(error) = &status.reload_error {
                    said.push(format!(
                        "reload failed ({} so far): {error}",
                        status.failed_reloads
                    ));
                }
                rows.push_str(&format!(
                    "<tr class=\"{class}\"><td class=\"plugin\">{plugin}</td><td class=\"name\">{name}</td><td class=\"version\">{version}</td><td class=\"state\">{state}</td><td class=\"duration\">{duration:.3} s</td><td class=\"series\">{series}</td><td class=\"memory\">{memory:.1} MiB (peak {peak:.1} MiB)</td><td class=\"cpu\">{cpu:.3} s</td><td class=\"error\">{error}</td><td class=\"description\">{description}</td></tr>\n",
                    class = if down { "down" } else { "ok" },
                    plugin = html(&plugin.name),
                    name = html(name),
                    version = html(version),
                    duration = status.last_duration.as_secs_f64(),
                    series = status.series,
                    memory = status.memory as f64 / f64::from(1u32 << 20),
                    peak = status.memory_peak as f64 / f64::from(1u32 << 20),
                    cpu = status.cpu.as_secs_f64(),
                    error = html(&said.join("; ")),
                    description = html(description),
                ));
            }
        }
        let build = self.selfmetrics.build();
        let page = format!(
            include_str!("../landing.html"),
            path = html(&self.settings.telemetry_path),
            rows = rows,
            version = html(build.version),
            revision = html(build.revision),
            rustversion = html(build.rustversion),
            wasmtime = html(build.wasmtime),
        );
        let mut resp = Response::new(Body::from(page));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        resp
    }
}

/// Escapes text for HTML.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
