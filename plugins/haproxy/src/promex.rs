//! `metric_names: promex`: the families HAProxy's built-in exporter
//! (promex) serves, built from the same CSV and `show info` the
//! haproxy_exporter names come from, so that dashboards and alerts written
//! for promex work unchanged. Labels as promex: `proxy`, `server`, `code`
//! and `state`; one series per state for statuses; the backends'
//! aggregated server and check states counted from their servers' rows.
//!
//! What promex serves that neither source has (stick tables, listeners,
//! per-thread pools...) is listed in the README.

#[path = "promex_table.rs"]
mod table;

use std::collections::{BTreeMap, HashMap};

use wasm_exporter_sdk::MetricFamily;

use crate::families::{Sizes, Sizing};

use crate::metrics::Kind as Scope;

/// Counter or gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A counter.
    Counter,
    /// A gauge.
    Gauge,
}

/// How a CSV value becomes the sample. An empty field (a limit not set, a
/// server without checks) is NaN, as promex serves it, except for the
/// last check's code and duration, which promex reads from the check
/// itself (0 without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// As it is.
    Plain,
    /// Milliseconds in the CSV, seconds here.
    Millis,
    /// As it is; empty is 0.
    CheckZero,
    /// Milliseconds, in seconds; empty is 0.
    CheckMillis,
}

/// A promex metric read from one CSV column.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    /// Name after `haproxy_<scope>_`.
    pub name: &'static str,
    /// CSV column.
    pub column: &'static str,
    /// Type.
    pub kind: Kind,
    /// Conversion.
    pub conv: Conv,
    /// Help text.
    pub help: &'static str,
}

/// A promex process metric read from one `show info` key.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    /// Name after `haproxy_process_`.
    pub name: &'static str,
    /// `show info` key.
    pub key: &'static str,
    /// Type.
    pub kind: Kind,
    /// Help text.
    pub help: &'static str,
}

/// Server states, in promex's order.
const SERVER_STATES: [&str; 5] = ["DOWN", "UP", "MAINT", "DRAIN", "NOLB"];
/// Proxy states, in promex's order.
const PROXY_STATES: [&str; 2] = ["DOWN", "UP"];
/// Health check results, in promex's order.
const CHECK_STATES: [&str; 16] = [
    "HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP",
    "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK",
];
/// The `code` label values of `http_responses_total` and their columns.
const CODES: [(&str, &str); 6] = [
    ("1xx", "hrsp_1xx"),
    ("2xx", "hrsp_2xx"),
    ("3xx", "hrsp_3xx"),
    ("4xx", "hrsp_4xx"),
    ("5xx", "hrsp_5xx"),
    ("other", "hrsp_other"),
];

/// A server's state as promex names it, from the CSV's `status` (`UP`,
/// `UP 1/3` while going down, `DOWN 1/2` while coming up, `no check`,
/// `MAINT (via b/s)`...).
fn server_state(status: &str) -> usize {
    let word = status.split([' ', '(']).next().unwrap_or("");
    match word {
        "UP" | "no" => 1,
        "MAINT" => 2,
        "DRAIN" => 3,
        "NOLB" => 4,
        _ => 0,
    }
}

/// A check result as promex names it, from the CSV's `check_status`
/// (`* ` marks a check in progress); none for a server without checks.
fn check_state(status: &str) -> Option<usize> {
    let status = status.trim_start_matches("* ");
    CHECK_STATES.iter().position(|s| *s == status)
}

/// The value of a CSV field under `conv`; `None` when it is not a number.
fn value(raw: &str, conv: Conv) -> Option<f64> {
    if raw.is_empty() {
        let zero = matches!(conv, Conv::CheckZero | Conv::CheckMillis);
        return Some(if zero { 0.0 } else { f64::NAN });
    }
    let v: f64 = raw.parse().ok()?;
    Some(match conv {
        Conv::Millis | Conv::CheckMillis => v / 1000.0,
        Conv::Plain | Conv::CheckZero => v,
    })
}

/// Where each column promex's families need is in the CSV, worked out
/// once per header (HAProxy sends the same one every time).
pub struct Layout {
    /// `pxname`.
    pub pxname: Option<usize>,
    /// `svname`.
    pub svname: Option<usize>,
    /// `type`.
    pub type_: Option<usize>,
    /// `status`.
    pub status: Option<usize>,
    check_status: Option<usize>,
    mode: Option<usize>,
    codes: [Option<usize>; CODES.len()],
    /// The column of each entry of the frontend, backend and server tables.
    frontend: Vec<Option<usize>>,
    backend: Vec<Option<usize>>,
    server: Vec<Option<usize>>,
}

impl Layout {
    /// The layout of `header` (`pxname,svname,...`); none without a
    /// `pxname` column, as promex's families are found by the names.
    pub fn new(header: &str) -> Option<Self> {
        let names: HashMap<&str, usize> = header
            .split(',')
            .enumerate()
            .map(|(i, n)| (n.trim(), i))
            .collect();
        let at = |column: &str| names.get(column).copied();
        let table = |stats: &[Stat]| stats.iter().map(|s| at(s.column)).collect();
        Some(Layout {
            pxname: Some(at("pxname")?),
            svname: at("svname"),
            type_: at("type"),
            status: at("status"),
            check_status: at("check_status"),
            mode: at("mode"),
            codes: CODES.map(|(_, column)| at(column)),
            frontend: table(table::FRONTEND),
            backend: table(table::BACKEND),
            server: table(table::SERVER),
        })
    }
}

/// One row of the CSV.
pub struct Row<'a> {
    /// The row's scope.
    pub scope: Scope,
    /// `pxname`.
    pub proxy: &'a str,
    /// `svname`.
    pub server: &'a str,
    /// Where its columns are.
    pub layout: &'a Layout,
    /// The value at a position, `""` when absent.
    pub get: &'a dyn Fn(Option<usize>) -> &'a str,
}

/// Builds promex's families from rows and `show info`.
#[derive(Default)]
pub struct Builder {
    families: Vec<MetricFamily>,
    /// How each family's lists are sized, as the other builder's.
    sizing: Sizing,
    /// Each family's place in `families`, by scope and name (Fx: looked up
    /// once per series).
    index: HashMap<(&'static str, &'static str), usize, wasm_exporter_sdk::strings::FxBuildHasher>,
    /// Per backend with servers: its servers by state, and by check
    /// result.
    aggregated: BTreeMap<String, ([u64; 5], [u64; 16])>,
    /// Values that were not numbers.
    pub bad_values: u64,
}

fn prefix(scope: Scope) -> &'static str {
    match scope {
        Scope::Frontend => "frontend",
        Scope::Backend => "backend",
        Scope::Server => "server",
    }
}

impl Builder {
    /// A builder whose families are made to `sizes`, the series and label
    /// values per family of the last scrape (or of a counting pass).
    pub fn sized(sizes: &[Sizes]) -> Self {
        Builder {
            sizing: Sizing::to(sizes),
            ..Builder::default()
        }
    }

    /// A builder that makes each family, empty, and only counts the series
    /// it would get ([`Self::counted`]).
    pub fn counting() -> Self {
        Builder {
            sizing: Sizing::counting(),
            ..Builder::default()
        }
    }

    /// A counting builder's series and label values per family, the
    /// backends' aggregated states included: what [`Self::sized`] takes.
    pub fn counted(mut self) -> Vec<Sizes> {
        self.add_aggregated();
        self.sizing.sizes(&self.families)
    }

    /// The place of the family `haproxy_<scope>_<name>`, made on first use.
    fn family(
        &mut self,
        (scope, name): (&'static str, &'static str),
        kind: Kind,
        help: &str,
        labels: &[&str],
    ) -> usize {
        match self.index.get(&(scope, name)) {
            Some(slot) => *slot,
            None => {
                let full = format!("haproxy_{scope}_{name}");
                let family = match kind {
                    Kind::Counter => MetricFamily::counter(full, help),
                    Kind::Gauge => MetricFamily::gauge(full, help),
                };
                let mut family = family.with_labels(labels.iter().copied());
                self.sizing.made(&mut family);
                self.families.push(family);
                self.index.insert((scope, name), self.families.len() - 1);
                self.families.len() - 1
            }
        }
    }

    fn add(
        &mut self,
        name: (&'static str, &'static str),
        kind: Kind,
        help: &str,
        labels: &[&str],
        values: &[&str],
        v: f64,
    ) {
        let slot = self.family(name, kind, help, labels);
        if self.sizing.counted(slot) {
            return;
        }
        let family = &mut self.families[slot];
        match kind {
            Kind::Counter => family.add_counter(values, v),
            Kind::Gauge => family.add_gauge(values, v),
        };
    }

    /// Adds the series of one CSV row.
    pub fn row(&mut self, row: &Row<'_>) {
        let scope = prefix(row.scope);
        let layout = row.layout;
        let (stats, columns, special) = match row.scope {
            Scope::Frontend => (table::FRONTEND, &layout.frontend, table::FRONTEND_SPECIAL),
            Scope::Backend => (table::BACKEND, &layout.backend, table::BACKEND_SPECIAL),
            Scope::Server => (table::SERVER, &layout.server, table::SERVER_SPECIAL),
        };
        let (labels, values): (&[&str], Vec<&str>) = match row.scope {
            Scope::Server => (&["proxy", "server"], vec![row.proxy, row.server]),
            _ => (&["proxy"], vec![row.proxy]),
        };
        // promex leaves the HTTP metrics out for a proxy in TCP mode.
        let http = (row.get)(layout.mode) != "tcp";
        let check_status = (row.get)(layout.check_status);
        // A server without an active check has no check code or duration.
        let checked = !check_status.is_empty();
        for (stat, column) in stats.iter().zip(columns) {
            if !http && stat.name.starts_with("http_") {
                continue;
            }
            if !checked && matches!(stat.conv, Conv::CheckZero | Conv::CheckMillis) {
                continue;
            }
            match value((row.get)(*column), stat.conv) {
                // promex serves NaN for a counter the object does not keep
                // (checks of a server without them); OpenMetrics forbids a
                // NaN counter, so the series is left out.
                Some(v) if v.is_nan() && stat.kind == Kind::Counter => {}
                Some(v) => self.add((scope, stat.name), stat.kind, stat.help, labels, &values, v),
                None => self.bad_values += 1,
            }
        }
        let status = (row.get)(layout.status);
        let check = check_state(check_status);
        // A backend's aggregated states count its servers; promex serves
        // none for a backend without servers.
        if row.scope == Scope::Server {
            let counts = self.aggregated.entry(row.proxy.to_owned()).or_default();
            counts.0[server_state(status)] += 1;
            if let Some(c) = check {
                counts.1[c] += 1;
            }
        }
        for (name, kind, help) in special {
            let full = (scope, *name);
            let with = |extra: &'static str| -> Vec<&str> {
                labels.iter().copied().chain([extra]).collect()
            };
            match *name {
                "status" => {
                    let (states, current): (&[&str], usize) = match row.scope {
                        Scope::Server => (&SERVER_STATES, server_state(status)),
                        Scope::Frontend => (
                            &PROXY_STATES,
                            usize::from(matches!(status, "OPEN" | "FULL")),
                        ),
                        Scope::Backend => (&PROXY_STATES, usize::from(status.starts_with("UP"))),
                    };
                    for (i, state) in states.iter().enumerate() {
                        let mut v = values.clone();
                        v.push(state);
                        let on = if i == current { 1.0 } else { 0.0 };
                        self.add(full, *kind, help, &with("state"), &v, on);
                    }
                }
                "check_status" => {
                    let Some(current) = check else { continue };
                    for (i, state) in CHECK_STATES.iter().enumerate() {
                        let mut v = values.clone();
                        v.push(state);
                        let on = if i == current { 1.0 } else { 0.0 };
                        self.add(full, *kind, help, &with("state"), &v, on);
                    }
                }
                "http_responses_total" if http => {
                    for ((code, _), column) in CODES.iter().zip(layout.codes) {
                        match value((row.get)(column), Conv::Plain) {
                            Some(n) => {
                                let mut v = values.clone();
                                v.push(code);
                                self.add(full, *kind, help, &with("code"), &v, n);
                            }
                            None => self.bad_values += 1,
                        }
                    }
                }
                // The aggregated states are added when every row is in.
                _ => {}
            }
        }
    }

    /// Adds `show info`'s process metrics.
    pub fn info(&mut self, info: &HashMap<&str, &str>) {
        for stat in table::PROCESS {
            let v = info
                .get(stat.key)
                .and_then(|raw| raw.trim().parse::<f64>().ok())
                .unwrap_or(f64::NAN);
            self.add(("process", stat.name), stat.kind, stat.help, &[], &[], v);
        }
        if let Some(version) = info.get("Version") {
            self.add(
                ("process", "build_info"),
                Kind::Gauge,
                table::BUILD_INFO_HELP,
                &["version"],
                &[version],
                1.0,
            );
        }
    }

    /// The families, the backends' aggregated states added.
    pub fn finish(mut self) -> Vec<MetricFamily> {
        self.add_aggregated();
        self.families
    }

    /// Adds the backends' aggregated states, once every row is in.
    fn add_aggregated(&mut self) {
        let aggregated = std::mem::take(&mut self.aggregated);
        for (name, kind, help) in table::BACKEND_SPECIAL {
            let states: &[&str] = match *name {
                "agg_server_status" | "agg_server_check_status" => &SERVER_STATES,
                "agg_check_status" => &CHECK_STATES,
                _ => continue,
            };
            for (proxy, (servers, checks)) in &aggregated {
                let counts: &[u64] = if states.len() == CHECK_STATES.len() {
                    checks
                } else {
                    servers
                };
                for (state, n) in states.iter().zip(counts) {
                    self.add(
                        ("backend", name),
                        *kind,
                        help,
                        &["proxy", "state"],
                        &[proxy, state],
                        *n as f64,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_as_promex_names_them() {
        assert_eq!(server_state("UP"), 1);
        assert_eq!(server_state("UP 1/3"), 1);
        assert_eq!(server_state("no check"), 1);
        assert_eq!(server_state("DOWN 1/2"), 0);
        assert_eq!(server_state("MAINT (via be/s1)"), 2);
        assert_eq!(server_state("DRAIN"), 3);
        assert_eq!(server_state("NOLB"), 4);
        assert_eq!(check_state("* L4OK"), Some(2));
        assert_eq!(check_state("L7STS"), Some(12));
        assert_eq!(check_state(""), None);
        assert_eq!(check_state("INI"), None);
    }

    #[test]
    fn values_convert_as_promex() {
        assert!(value("", Conv::Plain).is_some_and(f64::is_nan));
        assert_eq!(value("", Conv::CheckZero), Some(0.0));
        assert_eq!(value("", Conv::CheckMillis), Some(0.0));
        assert_eq!(value("1500", Conv::Millis), Some(1.5));
        assert_eq!(value("15", Conv::CheckMillis), Some(0.015));
        assert_eq!(value("-1", Conv::Plain), Some(-1.0));
        assert_eq!(value("x", Conv::Plain), None);
    }
}
