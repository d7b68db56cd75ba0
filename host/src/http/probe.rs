//! `GET /probe?module=NAME&target=T`: the multi-target pattern of
//! blackbox_exporter. One collect of module `NAME` (a loaded plugin
//! instance that exports the prober interface) for target `T`, answered
//! with only what it produced and the host's status of that probe, in the
//! negotiated format. The module's `grants.fetch` decide first: a target
//! outside them is answered 403 and nothing is contacted.

use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::routes::{negotiated, query_pairs};
use super::{App, Body, plain, text_response};
use crate::catalogue::ProbeRequest;
use crate::exposition::merge;
use crate::exposition::model::{Family, Kind, Value};

/// What the query of a probe names.
#[derive(Debug, PartialEq)]
struct ProbeQuery {
    module: String,
    target: String,
    params: Vec<(String, String)>,
}

/// `module` and `target` (each once, not empty) and the other parameters in
/// order; the message is for a 400.
fn parse_query(query: Option<&str>) -> Result<ProbeQuery, String> {
    let mut module = None;
    let mut target = None;
    let mut params = Vec::new();
    for (key, value) in query_pairs(query)? {
        let slot = match key.as_str() {
            "module" => &mut module,
            "target" => &mut target,
            _ => {
                params.push((key, value));
                continue;
            }
        };
        if slot.replace(value).is_some() {
            return Err(format!("{key} parameter given more than once"));
        }
    }
    let module = module
        .filter(|m| !m.is_empty())
        .ok_or("module parameter is missing")?;
    let target = target
        .filter(|t| !t.is_empty())
        .ok_or("target parameter is missing")?;
    Ok(ProbeQuery {
        module,
        target,
        params,
    })
}

/// The host's status of one probe, added to what the plugin produced.
fn status_families(success: bool, seconds: f64) -> [Family; 2] {
    let mut ok = Family::new(
        Kind::Gauge,
        "wasm_exporter_probe_success",
        "Whether the probe's collect succeeded (1) or failed (0).",
    );
    ok.push(vec![], Value::Gauge(if success { 1.0 } else { 0.0 }));
    let mut took = Family::new(
        Kind::Gauge,
        "wasm_exporter_probe_duration_seconds",
        "How long the probe took, in seconds.",
    )
    .with_unit("seconds");
    took.push(vec![], Value::Gauge(seconds));
    [ok, took]
}

impl App {
    /// Answers `/probe`. Every problem is an HTTP answer: 400 for a request
    /// that names no module or target, an unknown module or one that does
    /// not probe; 403 for a target outside the module's grants; otherwise
    /// 200, with `wasm_exporter_probe_success` saying how the probe went.
    pub(super) async fn probe(&self, req: &Request<Incoming>) -> Response<Body> {
        let Some(scraper) = self.scraper.get() else {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready: loading plugins.\n",
            );
        };
        let query = match parse_query(req.uri().query()) {
            Ok(q) => q,
            Err(e) => return text_response(StatusCode::BAD_REQUEST, format!("{e}\n")),
        };
        let catalogue = scraper.plugins().current();
        let Some(entry) = catalogue.plugins.iter().find(|p| *p.name == query.module) else {
            let modules: Vec<&str> = catalogue
                .plugins
                .iter()
                .filter(|p| p.probes())
                .map(|p| &*p.name)
                .collect();
            return text_response(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown module {:?}; the modules that answer /probe: {}\n",
                    query.module,
                    if modules.is_empty() {
                        "none".to_owned()
                    } else {
                        modules.join(", ")
                    }
                ),
            );
        };
        if let Some(error) = entry.load_error() {
            return text_response(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("module {:?} is not loaded: {error}\n", query.module),
            );
        }
        if !entry.probes() {
            return text_response(
                StatusCode::BAD_REQUEST,
                format!(
                    "module {:?} does not answer /probe: its plugin does not export {}\n",
                    query.module,
                    crate::runtime::contract::PROBER
                ),
            );
        }
        let started = Instant::now();
        match entry.fetch.grants.permits(&query.target) {
            Ok(true) => {}
            Ok(false) => {
                entry.record_probe(started.elapsed(), Some("target_denied"));
                tracing::warn!(module = %entry.name, target = %query.target, "probe refused: target outside grants.fetch");
                return text_response(
                    StatusCode::FORBIDDEN,
                    format!(
                        "target {:?} is outside module {:?}'s grants.fetch; nothing was contacted\n",
                        query.target, query.module
                    ),
                );
            }
            Err(e) => {
                entry.record_probe(started.elapsed(), Some("invalid_target"));
                return text_response(StatusCode::BAD_REQUEST, format!("target {e}\n"));
            }
        }
        let budget = self
            .scrape_budget(req)
            .map_or(entry.limits.timeout, |b| b.min(entry.limits.timeout));
        let request = ProbeRequest {
            target: query.target,
            params: query.params,
        };
        let runtime = scraper.plugins().runtime();
        let outcome = entry.probe(runtime, request, started + budget).await;
        let duration = started.elapsed();
        let (families, failure) = match &outcome.result {
            Ok(families) => (families.clone(), None),
            Err(e) => {
                tracing::debug!(module = %entry.name, reason = e.reason(), "probe failed: {e}");
                (Vec::new(), Some(e.reason()))
            }
        };
        if !outcome.dropped.is_empty() {
            let all: Vec<String> = outcome.dropped.iter().map(ToString::to_string).collect();
            tracing::warn!(module = %entry.name, "probe dropped {} families: {}", all.len(), all.join("; "));
        }
        entry.record_probe(duration, failure);
        let mut families = merge::merge(vec![families]).families;
        families.extend(status_families(failure.is_none(), duration.as_secs_f64()));
        families.sort_by(|a, b| a.name.cmp(&b.name));

        let (negotiated, compression) = negotiated(req);
        self.exposition(families, negotiated, compression, 0).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_and_target_once_and_the_rest_in_order() {
        let q = parse_query(Some(
            "module=haproxy&target=http%3A%2F%2Fa%3A8404%2Fstats%3Bcsv&x=1&y=a+b",
        ))
        .unwrap();
        assert_eq!(q.module, "haproxy");
        assert_eq!(q.target, "http://a:8404/stats;csv");
        assert_eq!(
            q.params,
            vec![("x".into(), "1".into()), ("y".into(), "a b".into())]
        );
        assert_eq!(
            parse_query(Some("module=haproxy")).unwrap_err(),
            "target parameter is missing"
        );
        assert_eq!(
            parse_query(Some("target=x&module=")).unwrap_err(),
            "module parameter is missing"
        );
        assert_eq!(
            parse_query(Some("module=a&target=x&target=y")).unwrap_err(),
            "target parameter given more than once"
        );
        assert!(parse_query(Some("module=%FF&target=x")).is_err());
    }
}
