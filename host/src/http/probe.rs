//! `GET /probe?module=NAME&target=T`: the multi-target pattern of
//! blackbox_exporter. One collect of module `NAME` (a loaded plugin
//! instance that exports the prober interface) for target `T`, answered
//! with only what it produced and the host's status of that probe, in the
//! negotiated format. The module's `grants.fetch` decide first: a target
//! outside them is answered 403 and nothing is contacted. This room parses
//! the query and picks the status code; [`crate::probe`] probes.

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::routes::{negotiated, query_pairs};
use super::{App, Body, plain, text_response};
use crate::catalogue::ProbeRequest;
use crate::probe::ProbeRefusal;

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

impl App {
    /// Answers `/probe`: the query parsed here, the probe made by
    /// [`crate::probe::Prober`], its answer mapped to a status code: 400
    /// for a request that names no module or target, an unknown module or
    /// one that does not probe, or a target that is no URL; 403 for a
    /// target outside the module's grants; 503 for a module whose files
    /// failed to load; otherwise 200, with `wasm_exporter_probe_success`
    /// saying how the probe went.
    pub(super) async fn probe(&self, req: &Request<Incoming>) -> Response<Body> {
        let Some(prober) = self.prober.get() else {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready: loading plugins.\n",
            );
        };
        let query = match parse_query(req.uri().query()) {
            Ok(q) => q,
            Err(e) => return text_response(StatusCode::BAD_REQUEST, format!("{e}\n")),
        };
        let request = ProbeRequest {
            target: query.target,
            params: query.params,
        };
        match prober
            .probe(&query.module, request, self.scrape_budget(req))
            .await
        {
            Ok(families) => {
                let (negotiated, compression) = negotiated(req);
                self.rendered(families, negotiated, compression)
            }
            Err(refusal) => {
                let status = match refusal {
                    ProbeRefusal::NotLoaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
                    ProbeRefusal::TargetDenied { .. } => StatusCode::FORBIDDEN,
                    ProbeRefusal::UnknownModule { .. }
                    | ProbeRefusal::DoesNotProbe { .. }
                    | ProbeRefusal::InvalidTarget(_) => StatusCode::BAD_REQUEST,
                };
                text_response(status, format!("{refusal}\n"))
            }
        }
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
