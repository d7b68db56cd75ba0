//! The scrape itself, free of WASI: fetch `show info` and the CSV through a
//! given function, parse, and build the families. Unit tests drive it with
//! canned responses.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use wasm_exporter_sdk::fetch::{FetchError, Request, Response};
use wasm_exporter_sdk::strings::{FxBuildHasher, Interned};
use wasm_exporter_sdk::{Level, MetricFamily, log};

use crate::csv::{Field as CsvField, Reader, Record};
use crate::families::{Builder, Layout, RowNames, Sizes, sizes_of};
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
    /// Whose metric names to export: haproxy_exporter's (the default) or
    /// those of HAProxy's built-in exporter, promex.
    pub metric_names: MetricNames,
}

/// The naming scheme of the exported metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricNames {
    /// haproxy_exporter 0.14's names, types, help and labels.
    #[default]
    HaproxyExporter,
    /// HAProxy 2.6's promex names, types, help and labels
    /// (`haproxy_process_*` only over a stats socket, which `show info`
    /// needs).
    Promex,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scrape_uri: "http://localhost/;csv".into(),
            ssl_verify: true,
            timeout: Duration::from_secs(5),
            server_metric_fields: metrics::DEFAULT_SERVER_FIELDS.into(),
            server_exclude_states: String::new(),
            metric_names: MetricNames::HaproxyExporter,
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
    /// The same for `metric_names: promex`.
    promex_layout: Option<(String, Option<crate::promex::Layout>)>,
    /// Series and label values per family at the last scrape (at the
    /// first, counted before building), in the order the families were
    /// made: each family's lists are made to size from it, not grown.
    sizes: Vec<Sizes>,
    /// Set while the rows are read only to count series: nothing logged.
    quiet: bool,
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
            promex_layout: None,
            sizes: Vec::new(),
            quiet: false,
        })
    }

    /// Logs a problem with the CSV at debug level, unless the rows are
    /// being read only to count them.
    fn debug(&self, message: impl FnOnce() -> String) {
        if !self.quiet {
            log(Level::Debug, &message());
        }
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
        let mut info_text = None;
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
                Ok(resp) if self.config.metric_names == MetricNames::Promex => {
                    info_text = Some(String::from_utf8_lossy(&resp.body).into_owned());
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
        // `from_utf8` checks ASCII a word at a time; `from_utf8_lossy`
        // walks the body byte by byte even when it is valid (2 % of a
        // 500x10 scrape), so it is only the fallback.
        let text = match std::str::from_utf8(&body) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&body),
        };
        match self.config.metric_names {
            MetricNames::HaproxyExporter => self.parse_csv(&text, out),
            MetricNames::Promex => self.parse_csv_promex(&text, info_text.as_deref(), out),
        }
        true
    }

    /// The kind of a row (by its `type`) if it is exported: a frontend,
    /// backend or server not in an excluded state, and not a repeat (a
    /// repeated row would repeat series; it is counted and the first kept).
    /// `names`: the row's proxy and server, for the log; `kept` makes them
    /// as the set of admitted rows keeps them, only for a row that gets
    /// that far.
    fn admit<'t>(
        &mut self,
        seen: &mut Seen<'t>,
        (type_, status): (&str, &str),
        names: (&str, &str),
        kept: impl FnOnce() -> (CsvField<'t>, CsvField<'t>),
    ) -> Option<Kind> {
        let kind = match type_ {
            "0" => Kind::Frontend,
            "1" => Kind::Backend,
            "2" => Kind::Server,
            _ => return None,
        };
        if kind == Kind::Server && self.excluded_states.contains(status) {
            return None;
        }
        // Borrowed from the CSV: no copy of the names per row.
        let (proxy, server) = kept();
        if !seen.insert((kind as u8, proxy, server)) {
            let (proxy, server) = names;
            self.debug(|| format!("duplicate CSV row for {proxy}/{server}"));
            self.parse_failures += 1;
            return None;
        }
        Some(kind)
    }

    /// Reads every record of the CSV `text`: one that cannot be read, is
    /// shorter than haproxy_exporter accepts, or (`keys` says `None`) that
    /// the layout cannot place is counted as a parse failure; each row that
    /// [`Self::admit`] takes goes to `row` with its kind and names. The
    /// layout is made once per header (`make`), or is `cached`'s when the
    /// header is unchanged, and is returned for the next scrape's cache.
    fn each_row<'t, L>(
        &mut self,
        text: &'t str,
        cached: Option<(String, L)>,
        make: impl Fn(Option<&str>) -> L,
        keys: impl Fn(&L) -> Option<[Option<usize>; 4]>,
        mut row: impl FnMut(&mut Self, &L, RowKeys<'_>, &Record<'t>),
    ) -> Option<(String, L)> {
        let mut reader = Reader::new(text);
        let mut fields = Record::with_capacity(128);
        let mut cached = cached;
        let mut layout: Option<L> = None;
        let mut seen = Seen::default();
        while let Some(record) = reader.read(&mut fields) {
            if let Err(e) = record {
                self.debug(|| format!("Can't read CSV: {e}"));
                self.parse_failures += 1;
                continue;
            }
            let layout = layout.get_or_insert_with(|| {
                let header = reader.header.unwrap_or("");
                match cached.take() {
                    Some((h, l)) if h == header => l,
                    _ => make(reader.header),
                }
            });
            if fields.len() < metrics::MIN_FIELDS {
                self.debug(|| {
                    format!(
                        "Parser received unexpected number of CSV fields: {} < {}",
                        fields.len(),
                        metrics::MIN_FIELDS
                    )
                });
                self.parse_failures += 1;
                continue;
            }
            let Some([pxname, svname, type_, status]) = keys(layout) else {
                self.debug(|| "promex names need the CSV's header".to_owned());
                self.parse_failures += 1;
                continue;
            };
            let get = |pos: Option<usize>| pos.and_then(|p| fields.get(p)).unwrap_or("");
            let name = |pos: Option<usize>| {
                pos.and_then(|p| fields.field(p))
                    .unwrap_or(CsvField::Borrowed(""))
            };
            let (proxy, server) = (get(pxname), get(svname));
            let kept = || (name(pxname), name(svname));
            let Some(kind) =
                self.admit(&mut seen, (get(type_), get(status)), (proxy, server), kept)
            else {
                continue;
            };
            row(
                self,
                layout,
                RowKeys {
                    kind,
                    proxy,
                    server,
                },
                &fields,
            );
        }
        layout.map(|l| (reader.header.unwrap_or("").to_owned(), l))
    }

    /// The CSV (and `show info`, over a socket) as promex's families, made
    /// to size as [`Self::parse_csv`]'s are.
    fn parse_csv_promex(&mut self, text: &str, info: Option<&str>, out: &mut Vec<MetricFamily>) {
        if self.sizes.is_empty() {
            let counter = self.counting(|me| {
                let mut counter = crate::promex::Builder::counting();
                me.read_promex(text, info, &mut counter);
                counter
            });
            self.sizes = counter.counted();
        }
        let mut builder = crate::promex::Builder::sized(&self.sizes);
        self.read_promex(text, info, &mut builder);
        self.parse_failures += std::mem::take(&mut builder.bad_values);
        let families = builder.finish();
        self.sizes = sizes_of(&families);
        out.extend(families);
    }

    /// Reads `show info` and every row of `text` into `builder`.
    fn read_promex(
        &mut self,
        text: &str,
        info: Option<&str>,
        builder: &mut crate::promex::Builder,
    ) {
        if let Some(info) = info {
            let keys: HashMap<&str, &str> =
                info.lines().filter_map(|l| l.split_once(": ")).collect();
            builder.info(&keys);
        }
        let cached = self.promex_layout.take();
        self.promex_layout = self.each_row(
            text,
            cached,
            |header| crate::promex::Layout::new(header.unwrap_or("")),
            |layout: &Option<crate::promex::Layout>| {
                layout
                    .as_ref()
                    .map(|l| [l.pxname, l.svname, l.type_, l.status])
            },
            |_, layout, keys, fields| {
                let Some(layout) = layout else { return };
                let get =
                    |pos: Option<usize>| -> &str { pos.and_then(|p| fields.get(p)).unwrap_or("") };
                builder.row(&crate::promex::Row {
                    scope: keys.kind,
                    proxy: keys.proxy,
                    server: keys.server,
                    layout,
                    get: &get,
                });
            },
        );
    }

    fn parse_csv(&mut self, text: &str, out: &mut Vec<MetricFamily>) {
        if self.sizes.is_empty() {
            self.sizes = self.count_series(text);
        }
        let mut builder = Builder::sized(&self.sizes);
        self.read_rows(text, &mut builder);
        let families = builder.finish();
        self.sizes = sizes_of(&families);
        out.extend(families);
    }

    /// The series each family of `text` gets, without building them: the
    /// first scrape's sizes. A guest's linear memory never shrinks, so
    /// lists grown by doubling in the first scrape would set the plugin's
    /// memory for good (30 MB at 500×10 where 19 are ever live at once).
    fn count_series(&mut self, text: &str) -> Vec<Sizes> {
        self.counting(|me| {
            let mut counter = Builder::counting();
            me.read_rows(text, &mut counter);
            counter
        })
        .counted()
    }

    /// Runs a pass that reads the rows only to count series: failures and
    /// logs are the real pass's, not counted twice.
    fn counting<T>(&mut self, pass: impl FnOnce(&mut Self) -> T) -> T {
        let failures = self.parse_failures;
        self.quiet = true;
        let counted = pass(self);
        self.quiet = false;
        self.parse_failures = failures;
        counted
    }

    /// Reads every row of `text` into `builder`.
    fn read_rows(&mut self, text: &str, builder: &mut Builder) {
        let cached = self.layout.take();
        let server_fields = std::mem::take(&mut self.server_fields);
        self.layout = self.each_row(
            text,
            cached,
            |header| Layout::new(header, &server_fields),
            |l: &Layout| Some([l.pxname, l.svname, l.type_, l.status]),
            |me, layout, keys, fields| {
                let table = match keys.kind {
                    Kind::Frontend => &layout.frontend,
                    Kind::Backend => &layout.backend,
                    Kind::Server => &layout.server,
                };
                // The row's names, interned once for all its series.
                let names = RowNames {
                    proxy: Interned::new(keys.proxy),
                    server: (keys.kind == Kind::Server).then(|| Interned::new(keys.server)),
                };
                for (column, (field, pos)) in table.iter().enumerate() {
                    let Some(raw) = pos.and_then(|p| fields.get(p)) else {
                        continue;
                    };
                    if raw.is_empty() {
                        continue;
                    }
                    let value = if field.index == metrics::STATUS {
                        Some(metrics::parse_status(raw))
                    } else if field.millis {
                        parse_millis(raw).map(|v| v / 1000.0)
                    } else {
                        parse_int(raw).map(|v| v as f64)
                    };
                    match value {
                        Some(v) => builder.add(keys.kind, column, field, &names, v),
                        None => {
                            me.debug(|| format!("Can't parse CSV field value {raw:?}"));
                            me.parse_failures += 1;
                        }
                    }
                }
            },
        );
        self.server_fields = server_fields;
    }
}

/// `raw` as a decimal `i64`, as `str::parse` (and Go's `strconv.ParseInt`,
/// which haproxy_exporter uses) reads it: an optional sign, then digits,
/// nothing else, no overflow. Written out so that it inlines into the
/// loop over a row's fields: `str::parse` stayed a call per field, and so
/// did this while it was only `#[inline]` (6 % of a 500×10 scrape).
#[inline(always)]
fn parse_int(raw: &str) -> Option<i64> {
    let (negative, digits) = match raw.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        all => (false, all),
    };
    // 18 digits cannot overflow; longer is left to `str::parse` (on
    // wasm32 a checked 64-bit multiply is a call to a 128-bit one).
    if digits.is_empty() || digits.len() > 18 {
        return raw.parse().ok();
    }
    let mut v: i64 = 0;
    for &d in digits {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if negative { -v } else { v })
}

/// `raw` as `str::parse::<f64>` reads it. HAProxy's times are whole
/// milliseconds: those of up to 15 digits are read as integers (below
/// 2^53, so exact, as the parse is), anything else (and a sign, for `-0`)
/// by the float parser.
#[inline]
fn parse_millis(raw: &str) -> Option<f64> {
    match raw.as_bytes().first() {
        Some(b'0'..=b'9') => match parse_int(raw) {
            Some(v) if raw.len() <= 15 => Some(v as f64),
            _ => raw.parse().ok(),
        },
        _ => raw.parse().ok(),
    }
}

/// The rows admitted so far: kind, proxy and server.
type Seen<'t> = HashSet<(u8, CsvField<'t>, CsvField<'t>), FxBuildHasher>;

/// What [`Exporter::admit`] made of a row: its kind and names.
struct RowKeys<'a> {
    kind: Kind,
    proxy: &'a str,
    server: &'a str,
}

#[cfg(test)]
#[path = "exporter_tests.rs"]
mod tests;
