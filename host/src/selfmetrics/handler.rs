//! promhttp's counts of the metrics handler (requests by status code, in
//! flight) and the families left out of responses because their names
//! clashed once escaped.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::exposition::escape::EscapeClash;
use crate::exposition::model::{Family, Kind, Value};

/// Scrapes of the metrics path: in flight, and served by status code; and
/// families left out for clashing once their names were escaped.
#[derive(Default)]
pub struct HandlerStats {
    in_flight: AtomicI64,
    by_code: Mutex<BTreeMap<u16, u64>>,
    escape_clashes: AtomicU64,
    /// The clashes last logged, so that each set is logged once.
    escape_logged: Mutex<String>,
}

/// Counts a scrape in flight until dropped.
pub struct InFlight<'a>(&'a HandlerStats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HandlerStats {
    /// Counts a scrape in flight until the guard is dropped.
    pub fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Counts a scrape answered with `code`.
    pub fn served(&self, code: u16) {
        let mut codes = self.by_code.lock().unwrap_or_else(|p| p.into_inner());
        *codes.entry(code).or_default() += 1;
    }

    /// Counts the clashes of one response and logs them when they differ
    /// from the last ones logged.
    pub fn escape_clashed(&self, clashes: &[EscapeClash]) {
        if clashes.is_empty() {
            return;
        }
        self.escape_clashes
            .fetch_add(clashes.len() as u64, Ordering::Relaxed);
        let text = clashes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        let mut logged = self.escape_logged.lock().unwrap_or_else(|p| p.into_inner());
        if *logged != text {
            tracing::warn!(
                reason = "name_clash",
                "left out {} families that this response's format and escaping cannot carry: {text}",
                clashes.len()
            );
            *logged = text;
        }
    }

    /// promhttp's families, with `promhttp` (off with
    /// `--web.disable-exporter-metrics`), and the escape clashes always.
    pub fn families(&self, promhttp: bool) -> Vec<Family> {
        let mut out = Vec::with_capacity(3);
        if promhttp {
            let codes = self
                .by_code
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            out.extend(handler_families(
                self.in_flight.load(Ordering::Relaxed),
                &codes,
            ));
        }
        out.push(escape_clash_family(
            self.escape_clashes.load(Ordering::Relaxed),
        ));
        out
    }
}

/// promhttp's metrics about the metrics handler itself: scrapes served by
/// HTTP status code (200, 500 and 503 always present, as in client_golang)
/// and scrapes in flight, this one included.
fn handler_families(in_flight: i64, by_code: &BTreeMap<u16, u64>) -> Vec<Family> {
    let mut requests = Family::new(
        Kind::Counter,
        "promhttp_metric_handler_requests_total",
        "Total number of scrapes by HTTP status code.",
    )
    .with_labels(&["code"]);
    let mut codes = by_code.clone();
    for code in [200, 500, 503] {
        codes.entry(code).or_insert(0);
    }
    for (code, n) in codes {
        requests.push(
            vec![code.to_string()],
            Value::Counter {
                total: n as f64,
                exemplar: None,
            },
        );
    }
    let mut in_flight_family = Family::new(
        Kind::Gauge,
        "promhttp_metric_handler_requests_in_flight",
        "Current number of scrapes being served.",
    );
    in_flight_family.push(vec![], Value::Gauge(in_flight as f64));
    vec![requests, in_flight_family]
}

/// `wasm_exporter_escape_clashes_total`: families left out of a response
/// because their names became equal to another's under the negotiated name
/// escaping.
fn escape_clash_family(total: u64) -> Family {
    let mut f = Family::new(
        Kind::Counter,
        "wasm_exporter_escape_clashes_total",
        "Families left out of responses because their names clashed with another family's once escaped for the scraper, or because the negotiated format and escaping could not carry them.",
    );
    f.push(
        vec![],
        Value::Counter {
            total: total as f64,
            exemplar: None,
        },
    );
    f
}
