//! Running a collector natively, in a plugin's own unit tests
//! (`cargo test`, no wasm, no exporter): [`run`] parses the config as the
//! host hands it over and calls `collect`; [`respond`] sets what
//! [`fetch`](crate::fetch::fetch) answers for a target.
//!
//! ```rust
//! use wasm_exporter_sdk::fetch::{fetch, Request, Response};
//! use wasm_exporter_sdk::{testing, CollectError, MetricFamily};
//!
//! fn collect() -> Result<Vec<MetricFamily>, CollectError> {
//!     let up = match fetch(&Request::new("http://127.0.0.1:8080/health")) {
//!         Ok(r) if r.status == 200 => 1.0,
//!         _ => 0.0,
//!     };
//!     let mut family = MetricFamily::gauge("app_up", "Whether the app answers.");
//!     family.add_gauge((), up);
//!     Ok(vec![family])
//! }
//!
//! testing::respond_with("http://127.0.0.1:8080/health", 200, "ok");
//! let families = collect().unwrap();
//! assert_eq!(families[0].series.len(), 1);
//! assert_eq!(testing::requests()[0].target, "http://127.0.0.1:8080/health");
//! ```
//!
//! Stand-ins are per thread, as Rust runs each test on its own thread.

use std::cell::RefCell;

use crate::fetch::{FetchError, Request, Response};
use crate::{Collector, MetricFamily, strings};

thread_local! {
    static STANDINS: RefCell<Vec<(String, Result<Response, FetchError>)>> =
        const { RefCell::new(Vec::new()) };
    static ASKED: RefCell<Vec<Request>> = const { RefCell::new(Vec::new()) };
}

/// From now on, a fetch of exactly `target` gets `answer` (replacing an
/// earlier stand-in for it).
pub fn respond(target: impl Into<String>, answer: Result<Response, FetchError>) {
    let target = target.into();
    STANDINS.with(|s| {
        let mut s = s.borrow_mut();
        s.retain(|(t, _)| *t != target);
        s.push((target, answer));
    });
}

/// A stand-in response with `status` and `body`.
pub fn respond_with(target: impl Into<String>, status: u16, body: impl Into<Vec<u8>>) {
    respond(
        target,
        Ok(Response {
            status,
            body: body.into(),
        }),
    );
}

/// The requests made so far on this thread, in order.
pub fn requests() -> Vec<Request> {
    ASKED.with(|a| a.borrow().clone())
}

/// Forgets every stand-in and request of this thread.
pub fn reset() {
    STANDINS.with(|s| s.borrow_mut().clear());
    ASKED.with(|a| a.borrow_mut().clear());
}

/// What `fetch` does natively: the stand-in for the target, or `denied`,
/// as the host answers a target the grants do not allow.
pub(crate) fn fetch(request: &Request) -> Result<Response, FetchError> {
    ASKED.with(|a| a.borrow_mut().push(request.clone()));
    STANDINS.with(|s| {
        s.borrow()
            .iter()
            .find(|(t, _)| *t == request.target)
            .map(|(_, answer)| answer.clone())
            .unwrap_or_else(|| {
                Err(FetchError::Denied(format!(
                    "no stand-in for {}: set one with testing::respond",
                    request.target
                )))
            })
    })
}

/// Starts `C` with `config_json` (the plugin's `config:` as the host hands
/// it to `init`; `""` for none), collects `scrapes` times (at least once) and
/// returns the last collect's families. Their label values resolve with
/// [`MetricFamily::series_labels`] until the next collect.
pub fn run<C: Collector>(config_json: &str, scrapes: usize) -> Result<Vec<MetricFamily>, String> {
    let config = crate::__private::parse_config::<C>(config_json).map_err(|e| format!("{e:?}"))?;
    let mut collector = C::init(config).map_err(|e| format!("init: {e:?}"))?;
    let mut last = Vec::new();
    for _ in 0..scrapes.max(1) {
        strings::reset();
        last = collector
            .collect()
            .map_err(|e| format!("collect: {}", e.message))?;
    }
    Ok(last)
}
