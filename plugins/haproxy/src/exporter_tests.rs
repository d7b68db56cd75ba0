//! The exporter against every scenario of haproxy_exporter's own test suite
//! and ours: one golden file per scenario (`testdata/<scenario>.csv` →
//! `testdata/<scenario>.metrics`), refreshed only on purpose with
//! `BLESS=1`; then the checks a golden file cannot make (exact values
//! against the CSV, the layout following the header).

use std::path::PathBuf;

use super::*;
use wasm_exporter_sdk::{MetricKind, SampleValue};

const HAPROXY_26: &str = include_str!("../testdata/haproxy-2.6.csv");
const SHOW_INFO: &str = include_str!("../testdata/show-info.txt");
const SERVER_WITHOUT_CHECKS: &str = include_str!("../testdata/server_without_checks.csv");

fn exporter(uri: &str) -> Exporter {
    Exporter::new(Config {
        scrape_uri: uri.into(),
        ..Config::default()
    })
    .unwrap()
}

fn ok(status: u16, body: &str) -> Result<Response, FetchError> {
    Ok(Response::new(status, body.as_bytes()))
}

fn testdata(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(file)
}

/// The families as `# TYPE` lines and samples, in the order the plugin
/// returns them: what the host would serve, before its sorting.
fn render(families: &[MetricFamily]) -> String {
    let mut out = String::new();
    for f in families {
        let kind = match f.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Unknown => "untyped",
            other => panic!("the haproxy plugin exports no {other:?}"),
        };
        out.push_str(&format!("# TYPE {} {kind}\n", f.name));
        for (i, s) in f.series.iter().enumerate() {
            let labels: Vec<String> = f
                .label_names
                .iter()
                .zip(f.series_labels(i))
                .map(|(n, v)| format!("{n}={v:?}"))
                .collect();
            let value = match &s.value {
                SampleValue::Gauge(v) | SampleValue::Unknown(v) => *v,
                SampleValue::Counter(c) => c.total,
                other => panic!("unexpected value {other:?}"),
            };
            let labels = if labels.is_empty() {
                String::new()
            } else {
                format!("{{{}}}", labels.join(","))
            };
            out.push_str(&format!("{}{labels} {value}\n", f.name));
        }
    }
    out
}

#[path = "../../../tests/e2e/support/golden.rs"]
mod golden_file;

/// Compares `families` with `testdata/<scenario>.metrics`.
fn golden(scenario: &str, families: &[MetricFamily]) {
    golden_file::check(&testdata(&format!("{scenario}.metrics")), &render(families));
}

/// One scrape over HTTP answering `status` with `testdata/<scenario>.csv`.
fn csv_scenario(scenario: &str, status: u16) -> Vec<MetricFamily> {
    let body = std::fs::read_to_string(testdata(&format!("{scenario}.csv"))).unwrap();
    exporter("http://127.0.0.1/;csv").scrape(|_| ok(status, &body))
}

#[test]
fn csv_scenarios_match_their_golden_files() {
    // haproxy_exporter's own scenarios, then ours.
    for scenario in [
        "invalid_config",
        "server_without_checks",
        "server_broken_csv",
        "older_haproxy_versions",
        "empty_body",
        "haproxy-2.6",
        "duplicate_rows",
        "too_few_fields",
        "html_instead_of_csv",
        "truncated_body",
        "bare_quote",
        "crlf_line_endings",
    ] {
        golden(scenario, &csv_scenario(scenario, 200));
    }
}

#[test]
fn failed_fetches_match_their_golden_files() {
    let http = |answer: Result<Response, FetchError>| {
        exporter("http://127.0.0.1/;csv").scrape(move |_| answer.clone())
    };
    golden("not_found", &http(ok(404, "404 page not found")));
    golden("http_500", &http(ok(500, "oops")));
    golden("deadline", &http(Err(FetchError::Timeout)));
    let unix = |answer: Result<Response, FetchError>| {
        exporter("unix:/run/haproxy/admin.sock").scrape(move |_| answer.clone())
    };
    golden("socket_closes_at_once", &unix(ok(0, "")));
    golden(
        "socket_not_found",
        &unix(Err(FetchError::Connect("no such file".into()))),
    );
    // A deadline mid-body reaches the plugin as a timeout, as on HTTP.
    assert_eq!(
        render(&unix(Err(FetchError::Timeout))),
        render(&http(Err(FetchError::Timeout)))
    );
}

#[test]
fn unix_socket_asks_show_info_then_show_stat() {
    let mut commands = Vec::new();
    let families = exporter("unix:/run/haproxy/admin.sock").scrape(|req| {
        commands.push(req.body.clone());
        match req.body.as_deref() {
            Some(b"show info\n") => ok(0, SHOW_INFO),
            _ => ok(0, SERVER_WITHOUT_CHECKS),
        }
    });
    assert_eq!(
        commands,
        [Some(b"show info\n".to_vec()), Some(b"show stat\n".to_vec())]
    );
    golden("unix_show_info", &families);
}

#[test]
fn line_endings_do_not_change_what_is_read() {
    assert_eq!(
        render(&csv_scenario("crlf_line_endings", 200)),
        render(&csv_scenario("haproxy-2.6", 200))
    );
}

#[test]
fn a_body_that_is_not_utf8_is_read_with_replacement_characters() {
    // A proxy named with a byte that is not UTF-8 (label values must be
    // UTF-8): its row is read with the byte as U+FFFD, and every other row
    // is read as it would be.
    let body = std::fs::read_to_string(testdata("haproxy-2.6.csv")).unwrap();
    let row = body
        .lines()
        .find(|l| l.starts_with("web,FRONTEND,"))
        .unwrap();
    let mut bytes = body.as_bytes().to_vec();
    let mut bad = row.replacen("web,", "w~b,", 1).into_bytes();
    let at = bad.iter().position(|&b| b == b'~').unwrap();
    bad[at] = 0xff;
    bytes.extend_from_slice(&bad);
    bytes.push(b'\n');
    let families =
        exporter("http://127.0.0.1/;csv").scrape(|_| Ok(Response::new(200, bytes.clone())));
    let clean = csv_scenario("haproxy-2.6", 200);
    let sessions =
        |f: &[MetricFamily], proxy: &str| series(f, "haproxy_frontend_current_sessions", &[proxy]);
    assert_eq!(sessions(&families, "w\u{fffd}b"), sessions(&clean, "web"));
    assert_eq!(sessions(&families, "web"), sessions(&clean, "web"));
    assert!(sessions(&clean, "web").is_some());
    assert_eq!(
        series(&families, "haproxy_exporter_csv_parse_failures_total", &[]),
        Some(0.0)
    );
}

#[test]
fn invalid_scheme_is_refused() {
    let e = Exporter::new(Config {
        scrape_uri: "gopher://gopher.quux.org".into(),
        ..Config::default()
    });
    assert_eq!(e.err().as_deref(), Some("unsupported scheme: \"gopher\""));
}

fn series(families: &[MetricFamily], name: &str, labels: &[&str]) -> Option<f64> {
    let family = families.iter().find(|f| f.name == name)?;
    let i = (0..family.series.len()).find(|i| family.series_labels(*i) == labels)?;
    match &family.series[i].value {
        SampleValue::Gauge(v) => Some(*v),
        SampleValue::Counter(c) => Some(c.total),
        _ => None,
    }
}

/// The raw value of `column` in the CSV row starting with `row`.
fn csv_value(csv: &str, row: &str, column: &str) -> f64 {
    let header = csv.lines().next().unwrap().trim_start_matches("# ");
    let index = header.split(',').position(|c| c == column).unwrap();
    let line = csv.lines().find(|l| l.starts_with(row)).unwrap();
    line.split(',').nth(index).unwrap().parse().unwrap()
}

#[test]
fn real_haproxy_csv_values() {
    let families = exporter("http://127.0.0.1/;csv").scrape(|_| ok(200, HAPROXY_26));
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
        ),
        Some(csv_value(HAPROXY_26, "stats,FRONTEND,", "hrsp_2xx"))
    );
    // Families are typed as in haproxy_exporter 0.14.
    let kind = |name: &str| families.iter().find(|f| f.name == name).map(|f| f.kind);
    assert_eq!(
        kind("haproxy_server_bytes_in_total"),
        Some(MetricKind::Counter)
    );
    assert_eq!(kind("haproxy_server_weight"), Some(MetricKind::Gauge));
}

/// `csv` with `column` of the row starting with `row` set to `value`.
fn with_value(csv: &str, row: &str, column: &str, value: &str) -> String {
    let header = csv.lines().next().unwrap().trim_start_matches("# ");
    let index = header.split(',').position(|c| c == column).unwrap();
    csv.lines()
        .map(|l| {
            if l.starts_with(row) {
                let mut fields: Vec<&str> = l.split(',').collect();
                fields[index] = value;
                fields.join(",") + "\n"
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

#[test]
fn milliseconds_become_seconds() {
    let csv = with_value(HAPROXY_26, "app,BACKEND,", "ttime", "1234");
    let families = exporter("http://x/").scrape(|_| ok(200, &csv));
    assert_eq!(
        series(
            &families,
            "haproxy_backend_http_total_time_average_seconds",
            &["app"]
        ),
        Some(1.234)
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
    for (name, column) in [
        ("haproxy_frontend_current_sessions", "scur"),
        ("haproxy_frontend_bytes_in_total", "bin"),
    ] {
        let want = Some(csv_value(HAPROXY_26, "stats,FRONTEND,", column));
        assert_eq!(want, series(&original, name, &["stats"]), "{name}");
        assert_eq!(want, series(&swapped, name, &["stats"]), "{name}");
        assert_eq!(want, series(&first, name, &["stats"]), "{name}");
        assert_eq!(want, series(&after_change, name, &["stats"]), "{name}");
    }
}

/// An exporter of `uri` serving `names`.
fn named(uri: &str, names: MetricNames) -> Exporter {
    Exporter::new(Config {
        scrape_uri: uri.into(),
        metric_names: names,
        ..Config::default()
    })
    .unwrap()
}

/// Every family made from the CSV's rows has lists exactly as long as
/// they need to be.
fn assert_made_to_size(what: &str, families: &[MetricFamily]) {
    let from_rows = families.iter().filter(|f| {
        ["haproxy_frontend_", "haproxy_backend_", "haproxy_server_"]
            .iter()
            .any(|p| f.name.starts_with(p))
    });
    assert!(from_rows.clone().count() > 10, "{what}");
    for f in from_rows {
        assert_eq!(f.series.capacity(), f.series.len(), "{what}: {}", f.name);
        assert_eq!(
            f.label_values.capacity(),
            f.label_values.len(),
            "{what}: {}",
            f.name
        );
    }
}

/// The first scrape counts its series before it builds them, so that each
/// family's lists are made to size (a guest's memory keeps the first
/// scrape's high-water mark for good), with either set of names; the
/// counting pass adds no parse failure of its own. Later scrapes take
/// their sizes from the last one, and a CSV that grew or shrank in between
/// is read as a fresh exporter reads it.
#[test]
fn the_first_scrape_makes_each_list_to_size() {
    for scenario in ["haproxy-2.6", "duplicate_rows", "server_broken_csv"] {
        assert_made_to_size(scenario, &csv_scenario(scenario, 200));
    }
    let failures = |families: &[MetricFamily]| {
        series(families, "haproxy_exporter_csv_parse_failures_total", &[])
    };
    assert_eq!(failures(&csv_scenario("duplicate_rows", 200)), Some(1.0));
    let promex = named("unix:/run/haproxy/admin.sock", MetricNames::Promex).scrape(|req| match req
        .body
        .as_deref()
    {
        Some(b"show info\n") => ok(0, SHOW_INFO),
        _ => ok(0, HAPROXY_26),
    });
    assert_made_to_size("promex", &promex);

    let fewer: String = HAPROXY_26
        .lines()
        .filter(|l| !l.starts_with("app,up1,") && !l.starts_with("app,drain1,"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(fewer.len(), HAPROXY_26.len());
    for names in [MetricNames::HaproxyExporter, MetricNames::Promex] {
        for (first, then) in [(fewer.as_str(), HAPROXY_26), (HAPROXY_26, fewer.as_str())] {
            let mut e = named("http://x/", names);
            e.scrape(|_| ok(200, first));
            let later = e.scrape(|_| ok(200, then));
            let fresh = named("http://x/", names).scrape(|_| ok(200, then));
            // The counters of scrapes differ; everything HAProxy said is
            // equal.
            let haproxy = |f: &[MetricFamily]| {
                let kept: Vec<MetricFamily> = f
                    .iter()
                    .filter(|f| f.name != "haproxy_exporter_scrapes_total")
                    .cloned()
                    .collect();
                render(&kept)
            };
            assert_eq!(haproxy(&later), haproxy(&fresh), "{names:?}");
        }
    }
}

#[test]
fn excluded_server_states_are_left_out() {
    let mut e = Exporter::new(Config {
        scrape_uri: "http://x/".into(),
        server_exclude_states: "MAINT,DOWN".into(),
        ..Config::default()
    })
    .unwrap();
    let families = e.scrape(|_| ok(200, HAPROXY_26));
    assert_eq!(
        series(&families, "haproxy_server_up", &["app", "maint1"]),
        None
    );
    assert_eq!(
        series(&families, "haproxy_server_up", &["app", "down1"]),
        None
    );
    assert_eq!(
        series(&families, "haproxy_server_up", &["app", "up1"]),
        Some(1.0)
    );
}

#[test]
fn promex_names_over_a_socket_and_over_http() {
    let promex = |uri: &str| {
        Exporter::new(Config {
            scrape_uri: uri.into(),
            metric_names: MetricNames::Promex,
            ..Config::default()
        })
        .unwrap()
    };
    let families = promex("unix:/run/haproxy/admin.sock").scrape(|req| match req.body.as_deref() {
        Some(b"show info\n") => ok(0, SHOW_INFO),
        _ => ok(0, HAPROXY_26),
    });
    golden("promex_unix", &families);
    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    assert!(names.contains(&"haproxy_process_build_info"));
    assert!(
        !names.contains(&"haproxy_version_info"),
        "haproxy_exporter's name"
    );
    let server = families
        .iter()
        .find(|f| f.name == "haproxy_server_bytes_in_total")
        .unwrap();
    assert_eq!(server.label_names, ["proxy", "server"]);
    // Over HTTP there is no `show info`: the same families but the process'.
    let http = promex("http://127.0.0.1/;csv").scrape(|_| ok(200, HAPROXY_26));
    let not_process = |fs: &[MetricFamily]| {
        fs.iter()
            .filter(|f| !f.name.starts_with("haproxy_process_"))
            .map(|f| f.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(not_process(&http), not_process(&families));
    assert!(http.iter().all(|f| !f.name.starts_with("haproxy_process_")));
}

#[test]
fn integers_are_read_as_str_parse_reads_them() {
    let cases = [
        "0",
        "7",
        "-0",
        "+0",
        "+12",
        "-12",
        "007",
        "",
        "+",
        "-",
        "--1",
        "+-1",
        "1-",
        " 1",
        "1 ",
        "1.5",
        "1e3",
        "x",
        "١",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999",
    ];
    for raw in cases {
        assert_eq!(super::parse_int(raw), raw.parse::<i64>().ok(), "{raw:?}");
    }
}

#[test]
fn millisecond_fields_are_read_as_str_parse_reads_them() {
    let cases = [
        "0",
        "12",
        "007",
        "-0",
        "-3",
        "+4",
        "1.5",
        "1e3",
        "",
        "x",
        "inf",
        "NaN",
        "123456789012345",
        "1234567890123456",
        "99999999999999999999",
        "9007199254740993",
    ];
    for raw in cases {
        let ours = super::parse_millis(raw).map(f64::to_bits);
        assert_eq!(ours, raw.parse::<f64>().ok().map(f64::to_bits), "{raw:?}");
    }
}
