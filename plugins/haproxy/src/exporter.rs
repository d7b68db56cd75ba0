//! The scrape itself, free of WASI: fetch `show info` and the CSV through a
//! given function, parse, and build the families. Unit tests drive it with
//! canned responses.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use wasm_exporter_sdk::fetch::{FetchError, Request, Response};
use wasm_exporter_sdk::{Level, MetricFamily, log};

use crate::csv::{Field as CsvField, Reader};
use crate::metrics::{self, Field, Kind};

/// The plugin's configuration: haproxy_exporter's flags.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `--haproxy.scrape-uri`: `http(s)://...;csv`, `unix:/path` or
    /// `tcp://host:port`.
    pub scrape_uri: String,
    /// `--haproxy.ssl-verify`.
    pub ssl_verify: bool,
    /// `--haproxy.timeout`.
    #[serde(deserialize_with = "wasm_exporter_sdk::config::duration")]
    pub timeout: Duration,
    /// `--haproxy.server-metric-fields`: comma-separated CSV field numbers.
    pub server_metric_fields: String,
    /// `--haproxy.server-exclude-states`: comma-separated server states
    /// whose rows are left out.
    pub server_exclude_states: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scrape_uri: "http://localhost/;csv".into(),
            ssl_verify: true,
            timeout: Duration::from_secs(5),
            server_metric_fields: metrics::DEFAULT_SERVER_FIELDS.into(),
            server_exclude_states: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Http,
    Socket,
}

/// The exporter: its configuration and its two counters.
pub struct Exporter {
    config: Config,
    transport: Transport,
    server_fields: Vec<Field>,
    excluded_states: HashSet<String>,
    scrapes: u64,
    parse_failures: u64,
    /// The column layout of the last CSV header seen; HAProxy sends the
    /// same header every time, so it is worked out once.
    layout: Option<(String, Layout)>,
}

/// What `show info` told.
#[derive(Debug, Default, PartialEq, Eq)]
struct Info {
    release_date: String,
    version: String,
}

fn parse_info(text: &str) -> Info {
    let mut info = Info::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        match key {
            "Release_date" => info.release_date = value.to_owned(),
            "Version" => info.version = value.to_owned(),
            _ => {}
        }
    }
    info
}

impl Exporter {
    /// Checks the configuration as haproxy_exporter does at start-up.
    pub fn new(config: Config) -> Result<Self, String> {
        let scheme = config.scrape_uri.split(':').next().unwrap_or("");
        let transport = match scheme {
            "http" | "https" => Transport::Http,
            "unix" | "tcp" => Transport::Socket,
            other => return Err(format!("unsupported scheme: {other:?}")),
        };
        let server_fields = metrics::select_server_fields(&config.server_metric_fields)?;
        let excluded_states = config
            .server_exclude_states
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Exporter {
            config,
            transport,
            server_fields,
            excluded_states,
            scrapes: 0,
            parse_failures: 0,
            layout: None,
        })
    }

    fn request(&self, command: &str) -> Request {
        let mut req = Request::new(self.config.scrape_uri.clone())
            .with_tls_verify(self.config.ssl_verify)
            .with_timeout(self.config.timeout);
        if self.transport == Transport::Socket {
            req = req.with_command(command);
        }
        req
    }

    /// One scrape, fetching through `fetch`.
    pub fn scrape(
        &mut self,
        mut fetch: impl FnMut(&Request) -> Result<Response, FetchError>,
    ) -> Vec<MetricFamily> {
        self.scrapes += 1;
        let mut out = Vec::new();
        let up = self.scrape_into(&mut fetch, &mut out);
        let mut up_family =
            MetricFamily::gauge("haproxy_up", "Was the last scrape of HAProxy successful.");
        up_family.add_gauge((), if up { 1.0 } else { 0.0 });
        let mut scrapes = MetricFamily::counter(
            "haproxy_exporter_scrapes_total",
            "Current total HAProxy scrapes.",
        );
        scrapes.add_counter((), self.scrapes as f64);
        let mut failures = MetricFamily::counter(
            "haproxy_exporter_csv_parse_failures_total",
            "Number of errors while parsing CSV.",
        );
        failures.add_counter((), self.parse_failures as f64);
        out.extend([up_family, scrapes, failures]);
        out
    }

    /// Returns whether HAProxy could be scraped; appends its families.
    fn scrape_into(
        &mut self,
        fetch: &mut impl FnMut(&Request) -> Result<Response, FetchError>,
        out: &mut Vec<MetricFamily>,
    ) -> bool {
        if self.transport == Transport::Socket {
            match fetch(&self.request("show info\n")) {
                Ok(resp) if resp.body.is_empty() => {
                    // haproxy_exporter would go on and report up 1 with
                    // nothing (or 0, by a race on the write); a stats socket
                    // that answers nothing is broken, so we say so.
                    log(
                        Level::Debug,
                        "Can't scrape HAProxy: the socket closed without answering show info",
                    );
                    return false;
                }
                Ok(resp) => {
                    let info = parse_info(&String::from_utf8_lossy(&resp.body));
                    if !info.version.is_empty() || !info.release_date.is_empty() {
                        let mut family =
                            MetricFamily::gauge("haproxy_version_info", "HAProxy version info.")
                                .with_labels(["release_date", "version"]);
                        family.add_gauge([info.release_date, info.version], 1.0);
                        out.push(family);
                    }
                }
                Err(e) => {
                    log(Level::Debug, &format!("Can't scrape HAProxy: {e}"));
                    return false;
                }
            }
        }
        let body = match fetch(&self.request("show stat\n")) {
            Ok(resp) if self.transport == Transport::Http && !(200..300).contains(&resp.status) => {
                log(
                    Level::Debug,
                    &format!("Can't scrape HAProxy: HTTP status {}", resp.status),
                );
                return false;
            }
            Ok(resp) => resp.body,
            Err(e) => {
                log(Level::Debug, &format!("Can't scrape HAProxy: {e}"));
                return false;
            }
        };
        let text = String::from_utf8_lossy(&body);
        self.parse_csv(&text, out);
        true
    }

    fn parse_csv(&mut self, text: &str, out: &mut Vec<MetricFamily>) {
        let mut reader = Reader::new(text);
        let mut fields: Vec<CsvField<'_>> = Vec::with_capacity(128);
        let mut cached = self.layout.take();
        let mut layout: Option<Layout> = None;
        let mut builder = Builder::default();
        let mut seen: HashSet<(u8, String, String)> = HashSet::new();
        while let Some(record) = reader.read(&mut fields) {
            if let Err(e) = record {
                log(Level::Debug, &format!("Can't read CSV: {e}"));
                self.parse_failures += 1;
                continue;
            }
            let layout = layout.get_or_insert_with(|| {
                let header = reader.header.unwrap_or("");
                match cached.take() {
                    Some((h, l)) if h == header => l,
                    _ => Layout::new(reader.header, &self.server_fields),
                }
            });
            if fields.len() < metrics::MIN_FIELDS {
                log(
                    Level::Debug,
                    &format!(
                        "Parser received unexpected number of CSV fields: {} < {}",
                        fields.len(),
                        metrics::MIN_FIELDS
                    ),
                );
                self.parse_failures += 1;
                continue;
            }
            let get = |pos: Option<usize>| {
                pos.and_then(|p| fields.get(p))
                    .map(|f| f.as_ref())
                    .unwrap_or("")
            };
            let kind = match get(layout.type_) {
                "0" => Kind::Frontend,
                "1" => Kind::Backend,
                "2" => Kind::Server,
                _ => continue,
            };
            let (pxname, svname, status) =
                (get(layout.pxname), get(layout.svname), get(layout.status));
            if kind == Kind::Server && self.excluded_states.contains(status) {
                continue;
            }
            if !seen.insert((kind as u8, pxname.to_owned(), svname.to_owned())) {
                // A repeated row would repeat series; count it and keep the first.
                log(
                    Level::Debug,
                    &format!("duplicate CSV row for {pxname}/{svname}"),
                );
                self.parse_failures += 1;
                continue;
            }
            let table = match kind {
                Kind::Frontend => &layout.frontend,
                Kind::Backend => &layout.backend,
                Kind::Server => &layout.server,
            };
            for (field, pos) in table {
                let Some(raw) = pos.and_then(|p| fields.get(p)) else {
                    continue;
                };
                let raw = raw.as_ref();
                if raw.is_empty() {
                    continue;
                }
                let value = if field.index == metrics::STATUS {
                    Some(metrics::parse_status(raw))
                } else if field.millis {
                    raw.parse::<f64>().ok().map(|v| v / 1000.0)
                } else {
                    raw.parse::<i64>().ok().map(|v| v as f64)
                };
                match value {
                    Some(v) => builder.add(kind, field, pxname, svname, v),
                    None => {
                        log(
                            Level::Debug,
                            &format!("Can't parse CSV field value {raw:?}"),
                        );
                        self.parse_failures += 1;
                    }
                }
            }
        }
        out.extend(builder.finish());
        if let Some(layout) = layout {
            self.layout = Some((reader.header.unwrap_or("").to_owned(), layout));
        }
    }
}

/// Where each needed column is: by the header's names when HAProxy sent
/// one, by haproxy_exporter's fixed positions otherwise.
struct Layout {
    pxname: Option<usize>,
    svname: Option<usize>,
    status: Option<usize>,
    type_: Option<usize>,
    frontend: Vec<(Field, Option<usize>)>,
    backend: Vec<(Field, Option<usize>)>,
    server: Vec<(Field, Option<usize>)>,
}

impl Layout {
    fn new(header: Option<&str>, server_fields: &[Field]) -> Self {
        let names: Option<HashMap<&str, usize>> =
            header.filter(|h| h.starts_with("pxname")).map(|h| {
                h.split(',')
                    .enumerate()
                    .map(|(i, n)| (n.trim(), i))
                    .collect()
            });
        let position = |column: &str, index: usize| match &names {
            Some(map) => map.get(column).copied(),
            None => Some(index),
        };
        let table = |fields: &[Field]| {
            fields
                .iter()
                .map(|f| (*f, position(f.column, f.index)))
                .collect()
        };
        Layout {
            pxname: position("pxname", 0),
            svname: position("svname", 1),
            status: position("status", metrics::STATUS),
            type_: position("type", metrics::TYPE),
            frontend: table(&metrics::frontend()),
            backend: table(&metrics::backend()),
            server: table(server_fields),
        }
    }
}

/// Collects series into families, creating each family on first use.
#[derive(Default)]
struct Builder {
    families: Vec<MetricFamily>,
    index: HashMap<(u8, &'static str), usize>,
}

impl Builder {
    fn add(&mut self, kind: Kind, field: &Field, pxname: &str, svname: &str, value: f64) {
        let slot = *self
            .index
            .entry((kind as u8, field.name))
            .or_insert_with(|| {
                let (prefix, labels): (&str, &[&str]) = match (kind, field.code.is_some()) {
                    (Kind::Frontend, false) => ("frontend", &["frontend"]),
                    (Kind::Frontend, true) => ("frontend", &["code", "frontend"]),
                    (Kind::Backend, false) => ("backend", &["backend"]),
                    (Kind::Backend, true) => ("backend", &["backend", "code"]),
                    (Kind::Server, false) => ("server", &["backend", "server"]),
                    (Kind::Server, true) => ("server", &["backend", "code", "server"]),
                };
                let name = format!("haproxy_{prefix}_{}", field.name);
                let family = if field.counter {
                    MetricFamily::counter(name, field.help)
                } else {
                    MetricFamily::gauge(name, field.help)
                };
                self.families
                    .push(family.with_labels(labels.iter().copied()));
                self.families.len() - 1
            });
        let (one, two, three);
        let labels: &[&str] = match (kind, field.code) {
            (Kind::Frontend, None) | (Kind::Backend, None) => {
                one = [pxname];
                &one
            }
            (Kind::Frontend, Some(code)) => {
                two = [code, pxname];
                &two
            }
            (Kind::Backend, Some(code)) => {
                two = [pxname, code];
                &two
            }
            (Kind::Server, None) => {
                two = [pxname, svname];
                &two
            }
            (Kind::Server, Some(code)) => {
                three = [pxname, code, svname];
                &three
            }
        };
        let family = &mut self.families[slot];
        if field.counter {
            family.add_counter(labels, value);
        } else {
            family.add_gauge(labels, value);
        }
    }

    fn finish(self) -> Vec<MetricFamily> {
        self.families
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_sdk::SampleValue;

    const SERVER_WITHOUT_CHECKS: &str = "test,127.0.0.1:8080,0,0,0,0,0,0,0,0,,0,,0,0,0,0,no check,1,1,0,0,,,0,,1,1,1,,0,,2,0,,0,,,,0,0,0,0,0,0,0,,,,0,0,,,,,,,,,,,\n";
    const BROKEN: &str = "foo,FRONTEND,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5007,0,,1,8,1,,0,,2,0,,0,L4OK,,0,,,,,,,0,,,,0,0,,,,,,,,,,,
foo,bug-missing-comma,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN (agent)1,1,0,0,0,5007,0,,1,8,1,,0,,2,0,,0,L4OK,,0,,,,,,,0,,,,0,0,,,,,,,,,,,
foo,foo-instance-0,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5007,0,,1,8,1,,0,,2,0,,0,L4OK,,0,,,,,,,0,,,,0,0,,,,,,,,,,,
foo,BACKEND,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5007,0,,1,8,1,,0,,2,0,,0,L4OK,,0,,,,,,,0,,,,0,0,,,,,,,,,,,
";
    const OLDER: &str = "foo,FRONTEND,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5007,0,,1,8,1,,0,,2,
foo,foo-instance-0,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5007,0,,1,8,1,,0,,2,
foo,BACKEND,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5007,0,,1,8,1,,0,,2,
";
    const HAPROXY_26: &str = include_str!("../testdata/haproxy-2.6.csv");
    const SHOW_INFO: &str = include_str!("../testdata/show-info.txt");

    fn exporter(uri: &str) -> Exporter {
        let config = Config {
            scrape_uri: uri.into(),
            ..Config::default()
        };
        Exporter::new(config).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ok(status: u16, body: &str) -> Result<Response, FetchError> {
        Ok(Response {
            status,
            body: body.as_bytes().to_vec(),
        })
    }

    /// (up, scrapes, parse failures, series outside the three base families).
    fn summary(families: &[MetricFamily]) -> (f64, f64, f64, usize) {
        let value = |name: &str| {
            families
                .iter()
                .find(|f| f.name == name)
                .and_then(|f| match &f.series[0].value {
                    SampleValue::Gauge(v) => Some(*v),
                    SampleValue::Counter(c) => Some(c.total),
                    _ => None,
                })
                .unwrap_or(f64::NAN)
        };
        let others = families
            .iter()
            .filter(|f| {
                !matches!(
                    f.name.as_str(),
                    "haproxy_up"
                        | "haproxy_exporter_scrapes_total"
                        | "haproxy_exporter_csv_parse_failures_total"
                )
            })
            .map(|f| f.series.len())
            .sum();
        (
            value("haproxy_up"),
            value("haproxy_exporter_scrapes_total"),
            value("haproxy_exporter_csv_parse_failures_total"),
            others,
        )
    }

    fn http(body: Result<Response, FetchError>) -> (f64, f64, f64, usize) {
        let mut e = exporter("http://127.0.0.1/;csv");
        summary(&e.scrape(|_| body.clone()))
    }

    fn series(families: &[MetricFamily], name: &str, labels: &[&str]) -> Option<f64> {
        let family = families.iter().find(|f| f.name == name)?;
        let i = (0..family.series.len()).find(|i| family.series_labels(*i) == labels)?;
        let s = &family.series[i];
        match &s.value {
            SampleValue::Gauge(v) => Some(*v),
            SampleValue::Counter(c) => Some(c.total),
            _ => None,
        }
    }

    // The scenarios of haproxy_exporter's own test suite.

    #[test]
    fn invalid_config_counts_one_failure() {
        assert_eq!(http(ok(200, "not,enough,fields")), (1.0, 1.0, 1.0, 0));
    }

    #[test]
    fn server_without_checks() {
        let (up, _, failures, n) = http(ok(200, SERVER_WITHOUT_CHECKS));
        // Every default server field but the empty check_duration and the
        // fields past the end of this short row.
        assert_eq!((up, failures), (1.0, 0.0));
        let present = metrics::server()
            .iter()
            .filter(|f| {
                SERVER_WITHOUT_CHECKS
                    .trim_end()
                    .split(',')
                    .nth(f.index)
                    .is_some_and(|v| !v.is_empty())
            })
            .count();
        assert_eq!(n, present);
    }

    #[test]
    fn server_broken_csv_skips_the_bad_row() {
        let mut e = exporter("http://127.0.0.1/;csv");
        let families = e.scrape(|_| ok(200, BROKEN));
        let (up, _, failures, _) = summary(&families);
        assert_eq!((up, failures), (1.0, 1.0));
        // All rows of this data are of type 2 (server), whatever their names.
        for server in ["FRONTEND", "foo-instance-0", "BACKEND"] {
            assert_eq!(
                series(&families, "haproxy_server_up", &["foo", server]),
                Some(1.0),
                "{server}"
            );
        }
        assert!(
            series(
                &families,
                "haproxy_server_up",
                &["foo", "bug-missing-comma"]
            )
            .is_none()
        );
    }

    #[test]
    fn older_haproxy_versions_parse_without_failures() {
        let (up, _, failures, n) = http(ok(200, OLDER));
        assert_eq!((up, failures), (1.0, 0.0));
        assert!(n > 0);
    }

    #[test]
    fn empty_body_is_up_with_nothing() {
        assert_eq!(http(ok(200, "")), (1.0, 1.0, 0.0, 0));
    }

    #[test]
    fn deadline_and_not_found_are_down() {
        assert_eq!(http(Err(FetchError::Timeout)), (0.0, 1.0, 0.0, 0));
        assert_eq!(http(ok(404, "404 page not found")), (0.0, 1.0, 0.0, 0));
    }

    #[test]
    fn unix_domain_socket_with_show_info() {
        let mut e = exporter("unix:/run/haproxy/admin.sock");
        let mut commands = Vec::new();
        let families = e.scrape(|req| {
            commands.push(req.command.clone().unwrap_or_default());
            match req.command.as_deref() {
                Some("show info\n") => ok(0, SHOW_INFO),
                _ => ok(0, SERVER_WITHOUT_CHECKS),
            }
        });
        assert_eq!(commands, ["show info\n", "show stat\n"]);
        let (up, _, failures, _) = summary(&families);
        assert_eq!((up, failures), (1.0, 0.0));
        assert_eq!(
            series(
                &families,
                "haproxy_version_info",
                &["2026/10/17", "2.6.12-1+deb12u4"]
            ),
            Some(1.0)
        );
        assert_eq!(
            series(&families, "haproxy_server_up", &["test", "127.0.0.1:8080"]),
            Some(1.0)
        );
    }

    #[test]
    fn unix_domain_not_found_and_deadline_are_down() {
        for err in [
            FetchError::Connect("no such file".into()),
            FetchError::Timeout,
        ] {
            let mut e = exporter("unix:/nonexistent.sock");
            let err2 = err.clone();
            assert_eq!(
                summary(&e.scrape(move |_| Err(err2.clone()))),
                (0.0, 1.0, 0.0, 0),
                "{err:?}"
            );
        }
    }

    #[test]
    fn invalid_scheme_is_refused() {
        let e = Exporter::new(Config {
            scrape_uri: "gopher://gopher.quux.org".into(),
            ..Config::default()
        });
        assert_eq!(e.err().as_deref(), Some("unsupported scheme: \"gopher\""));
    }

    // Our own scenarios.

    #[test]
    fn html_instead_of_csv_counts_failures_and_stays_up() {
        let html = "<html>\n<head><title>Statistics Report</title></head>\n<body><h1>HAProxy</h1></body>\n</html>\n";
        let (up, _, failures, n) = http(ok(200, html));
        assert_eq!((up, n), (1.0, 0));
        assert_eq!(failures, 4.0);
    }

    #[test]
    fn http_errors_are_down() {
        assert_eq!(http(ok(500, "oops")), (0.0, 1.0, 0.0, 0));
        assert_eq!(http(ok(503, "")), (0.0, 1.0, 0.0, 0));
    }

    #[test]
    fn truncated_body_drops_the_cut_row() {
        let full = http(ok(200, HAPROXY_26));
        let cut = &HAPROXY_26[..HAPROXY_26.len() - 200];
        let (up, _, failures, n) = http(ok(200, cut));
        assert_eq!((up, failures), (1.0, 1.0));
        assert!(n < full.3);
    }

    #[test]
    fn bare_quote_is_one_failure() {
        let body = HAPROXY_26.replacen("app,up1,", "app,up\"1,", 1);
        let (up, _, failures, _) = http(ok(200, &body));
        assert_eq!((up, failures), (1.0, 1.0));
    }

    #[test]
    fn crlf_line_endings_parse_the_same() {
        let crlf = HAPROXY_26.replace('\n', "\r\n");
        assert_eq!(http(ok(200, &crlf)), http(ok(200, HAPROXY_26)));
        assert_eq!(http(ok(200, HAPROXY_26)).2, 0.0);
    }

    #[test]
    fn duplicate_rows_are_counted_and_the_first_kept() {
        let line = HAPROXY_26
            .lines()
            .find(|l| l.starts_with("app,up1,"))
            .unwrap_or_default();
        let body = format!("{HAPROXY_26}{line}\n");
        let (up, _, failures, n) = http(ok(200, &body));
        assert_eq!((up, failures), (1.0, 1.0));
        assert_eq!(n, http(ok(200, HAPROXY_26)).3);
    }

    #[test]
    fn rows_with_too_few_fields_are_failures() {
        let body = format!("{HAPROXY_26}foo,bar,1,2,3\n");
        let (up, _, failures, _) = http(ok(200, &body));
        assert_eq!((up, failures), (1.0, 1.0));
    }

    #[test]
    fn socket_that_closes_at_once_is_down() {
        let mut e = exporter("unix:/run/haproxy/admin.sock");
        let families = e.scrape(|_| ok(0, ""));
        assert_eq!(summary(&families), (0.0, 1.0, 0.0, 0));
    }

    #[test]
    fn deadline_mid_body_is_down() {
        // The host returns a timeout, not a partial body, when the deadline
        // passes while the body is still arriving.
        let mut e = exporter("http://127.0.0.1/;csv");
        assert_eq!(
            summary(&e.scrape(|_| Err(FetchError::Timeout))),
            (0.0, 1.0, 0.0, 0)
        );
    }

    #[test]
    fn real_haproxy_csv_values() {
        let mut e = exporter("http://127.0.0.1/;csv");
        let families = e.scrape(|_| ok(200, HAPROXY_26));
        assert_eq!(summary(&families).2, 0.0);
        for (server, up) in [
            ("up1", 1.0),
            ("down1", 0.0),
            ("maint1", 0.0),
            ("drain1", 1.0),
            ("nocheck1", 1.0),
        ] {
            assert_eq!(
                series(&families, "haproxy_server_up", &["app", server]),
                Some(up),
                "{server}"
            );
        }
        assert_eq!(
            series(
                &families,
                "haproxy_frontend_http_responses_total",
                &["2xx", "stats"]
            )
            .map(|v| v >= 0.0),
            Some(true)
        );
        // Families are typed as in haproxy_exporter 0.14.
        let kind = |name: &str| families.iter().find(|f| f.name == name).map(|f| f.kind);
        assert_eq!(
            kind("haproxy_server_bytes_in_total"),
            Some(wasm_exporter_sdk::MetricKind::Counter)
        );
        assert_eq!(
            kind("haproxy_server_weight"),
            Some(wasm_exporter_sdk::MetricKind::Gauge)
        );
    }

    #[test]
    fn columns_are_found_by_header_name() {
        // Swap two columns, header included: values must follow their names.
        let swap = |line: &str| {
            let mut f: Vec<&str> = line.split(',').collect();
            f.swap(4, 8);
            f.join(",")
        };
        let body: String = HAPROXY_26
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(h) => format!("# {}\n", swap(h)),
                None => format!("{}\n", swap(l)),
            })
            .collect();
        let original = exporter("http://x/").scrape(|_| ok(200, HAPROXY_26));
        let swapped = exporter("http://x/").scrape(|_| ok(200, &body));
        // One exporter seeing the header change between scrapes (an HAProxy
        // upgrade) must not reuse the old layout.
        let mut both = exporter("http://x/");
        let first = both.scrape(|_| ok(200, HAPROXY_26));
        let after_change = both.scrape(|_| ok(200, &body));
        for name in [
            "haproxy_frontend_current_sessions",
            "haproxy_frontend_bytes_in_total",
        ] {
            let want = series(&original, name, &["stats"]);
            assert!(want.is_some(), "{name}");
            assert_eq!(want, series(&swapped, name, &["stats"]), "{name}");
            assert_eq!(want, series(&first, name, &["stats"]), "{name}");
            assert_eq!(want, series(&after_change, name, &["stats"]), "{name}");
        }
    }

    #[test]
    fn excluded_server_states_are_left_out() {
        let mut e = Exporter::new(Config {
            scrape_uri: "http://x/".into(),
            server_exclude_states: "MAINT,DOWN".into(),
            ..Config::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let families = e.scrape(|_| ok(200, HAPROXY_26));
        assert!(series(&families, "haproxy_server_up", &["app", "maint1"]).is_none());
        assert!(series(&families, "haproxy_server_up", &["app", "down1"]).is_none());
        assert_eq!(
            series(&families, "haproxy_server_up", &["app", "up1"]),
            Some(1.0)
        );
    }

    #[test]
    fn milliseconds_become_seconds() {
        let families = exporter("http://x/").scrape(|_| ok(200, HAPROXY_26));
        let qtime_col = HAPROXY_26
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("# ")
            .split(',')
            .position(|c| c == "ttime");
        let raw: Option<f64> = HAPROXY_26
            .lines()
            .find(|l| l.starts_with("app,BACKEND,"))
            .and_then(|l| l.split(',').nth(qtime_col.unwrap_or(usize::MAX)))
            .and_then(|v| v.parse().ok());
        assert_eq!(
            series(
                &families,
                "haproxy_backend_http_total_time_average_seconds",
                &["app"]
            ),
            raw.map(|v| v / 1000.0)
        );
    }
}
