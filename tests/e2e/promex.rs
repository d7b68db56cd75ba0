//! `metric_names: promex`: the haproxy plugin against HAProxy's own
//! exporter (promex, Debian's HAProxy 2.6) on the same HAProxy, whose
//! servers are UP, DOWN, MAINT, DRAIN and without checks, with an HTTP and
//! a TCP proxy and a stick table. Every family the plugin exports must
//! be promex's, with the same type, help and label names; the stable
//! values must be equal; what promex has that the CSV and `show info`
//! cannot give must be exactly the README's list.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use crate::support::*;

/// Families promex serves that neither the CSV nor `show info` carries:
/// the README's list.
const PROMEX_ONLY: &[&str] = &["haproxy_sticktable_size", "haproxy_sticktable_used"];

/// Values that move between two scrapes a few milliseconds apart: traffic
/// of the scrapes themselves (on the stats frontend and the process), and
/// clocks.
const MOVING: &[&str] = &[
    "haproxy_process_bytes_out_rate",
    "haproxy_process_bytes_out_total",
    "haproxy_process_connections_total",
    "haproxy_process_current_connection_rate",
    "haproxy_process_current_connections",
    "haproxy_process_current_session_rate",
    "haproxy_process_current_tasks",
    "haproxy_process_current_run_queue",
    "haproxy_process_idle_time_percent",
    "haproxy_process_jobs",
    "haproxy_process_max_connection_rate",
    "haproxy_process_max_session_rate",
    "haproxy_process_pool_allocated_bytes",
    "haproxy_process_pool_used_bytes",
    "haproxy_process_requests_total",
    "haproxy_process_uptime_seconds",
    "haproxy_server_check_duration_seconds",
    "haproxy_server_check_last_change_seconds",
    "haproxy_backend_check_last_change_seconds",
    "haproxy_server_downtime_seconds_total",
    "haproxy_backend_downtime_seconds_total",
];

/// One exposition: per family its type, help and label names; per series
/// (name and sorted labels) its value.
#[derive(Default)]
struct Parsed {
    families: BTreeMap<String, (String, String, BTreeSet<String>)>,
    samples: BTreeMap<(String, Vec<(String, String)>), f64>,
}

fn parse(text: &str) -> Parsed {
    let mut p = Parsed::default();
    let mut help = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, h) = rest.split_once(' ').unwrap_or((rest, ""));
            help.insert(name.to_owned(), h.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            let h = help.get(name).cloned().unwrap_or_default();
            p.families
                .insert(name.to_owned(), (kind.to_owned(), h, BTreeSet::new()));
        } else if !line.starts_with('#') && !line.is_empty() {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (n, l.trim_end_matches('}')),
                None => (series, ""),
            };
            let mut pairs: Vec<(String, String)> = labels
                .split("\",")
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once("=\"").unwrap();
                    (k.to_owned(), v.trim_end_matches('"').to_owned())
                })
                .collect();
            pairs.sort();
            if let Some(f) = p.families.get_mut(name) {
                f.2.extend(pairs.iter().map(|(k, _)| k.clone()));
            }
            let v = match value {
                "NaN" => f64::NAN,
                v => v.parse().unwrap(),
            };
            p.samples.insert((name.to_owned(), pairs), v);
        }
    }
    p
}

#[test]
fn promex_names_match_haproxys_own_exporter_on_the_same_haproxy() -> Result<()> {
    let dir = HaproxyProcess::dir("promex")?;
    let (stats, web, tcp) = (free_port()?, free_port()?, free_port()?);
    let socket = dir.join("admin.sock");
    let config = format!(
        "global\n  stats socket {sock} mode 600 level admin\n\
         defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend stats\n  bind 127.0.0.1:{stats}\n  stats enable\n  stats uri /stats\n\
         \x20 http-request use-service prometheus-exporter if {{ path /metrics }}\n\
         frontend web\n  bind 127.0.0.1:{web}\n  default_backend app\n\
         frontend tcp_in\n  mode tcp\n  bind 127.0.0.1:{tcp}\n  default_backend tcp_app\n\
         backend app\n\
         \x20 server up1 127.0.0.1:{stats} check inter 100ms\n\
         \x20 server down1 127.0.0.1:1 check inter 100ms fall 1\n\
         \x20 server maint1 127.0.0.1:{stats} check disabled\n\
         \x20 server drain1 127.0.0.1:{stats} check inter 100ms\n\
         \x20 server nocheck1 127.0.0.1:{stats} maxconn 20\n\
         backend tcp_app\n  mode tcp\n  server t1 127.0.0.1:{stats} check inter 100ms\n\
         backend sticky\n  stick-table type ip size 1k\n",
        sock = socket.display()
    );
    let _haproxy = HaproxyProcess::start(dir, &config)?;
    let addr = format!("127.0.0.1:{stats}");
    wait_for_stats(&addr)?;
    admin_command(&socket, "set server app/drain1 state drain\n")?;
    wait_for_csv(
        &addr,
        &[
            ("app/up1", STATUS, "UP"),
            ("app/down1", STATUS, "DOWN"),
            ("app/drain1", STATUS, "DRAIN"),
            ("tcp_app/t1", CHECK_STATUS, "L4OK"),
        ],
    )?;

    let plugins = PluginsDir::new("promex");
    let sock = socket.display();
    plugins.add(
        "haproxy",
        "haproxy",
        Some(&format!(
            "config:\n  scrape_uri: \"unix:{sock}\"\n  metric_names: promex\ngrants:\n  fetch: [\"unix:{sock}\"]\n"
        )),
    );
    let exporter = Exporter::start(&plugins.path, &[])?;
    let ours_text = exporter.scrape_text()?;
    let promex_text = request(&addr, "GET", "/metrics", &[])?.text()?;
    let (ours, promex) = (parse(&ours_text), parse(&promex_text));
    assert_eq!(sample(&ours_text, "haproxy_up"), Some(1.0), "{ours_text}");

    let exported: Vec<&String> = ours
        .families
        .keys()
        .filter(|n| n.starts_with("haproxy_"))
        .filter(|n| !n.starts_with("haproxy_exporter_") && *n != "haproxy_up")
        .collect();
    assert!(exported.len() > 150, "{} families", exported.len());
    for name in &exported {
        let (kind, help, labels) = &ours.families[*name];
        let Some((p_kind, p_help, p_labels)) = promex.families.get(*name) else {
            panic!("{name} is not one of promex's families");
        };
        assert_eq!(kind, p_kind, "type of {name}");
        assert_eq!(help, p_help, "help of {name}");
        assert_eq!(labels, p_labels, "label names of {name}");
    }
    let only_promex: Vec<&String> = promex
        .families
        .keys()
        .filter(|n| !ours.families.contains_key(*n))
        .collect();
    assert_eq!(only_promex, PROMEX_ONLY, "promex families we do not export");

    // Every series of a shared family, with equal values unless it moves.
    let mut compared = 0;
    let mut unequal = Vec::new();
    for ((name, labels), value) in &promex.samples {
        if !exported.contains(&name) {
            continue;
        }
        let counter = promex.families.get(name).is_some_and(|f| f.0 == "counter");
        if counter && value.is_nan() {
            // A counter the object does not keep: OpenMetrics forbids NaN
            // counters, so we leave the series out.
            assert!(
                !ours.samples.contains_key(&(name.clone(), labels.clone())),
                "{name}{labels:?}"
            );
            continue;
        }
        let Some(ours_value) = ours.samples.get(&(name.clone(), labels.clone())) else {
            unequal.push(format!("{name}{labels:?} is missing from ours"));
            continue;
        };
        let on_stats = labels.iter().any(|(k, v)| k == "proxy" && v == "stats");
        if MOVING.contains(&name.as_str()) || on_stats {
            continue;
        }
        let equal = ours_value == value || (ours_value.is_nan() && value.is_nan());
        if !equal {
            unequal.push(format!(
                "{name}{labels:?}: ours {ours_value}, promex {value}"
            ));
        }
        compared += 1;
    }
    assert!(
        unequal.is_empty(),
        "values that differ:\n{}",
        unequal.join("\n")
    );
    let extra: Vec<_> = ours
        .samples
        .keys()
        .filter(|(n, _)| exported.contains(&n))
        .filter(|k| !promex.samples.contains_key(*k))
        .collect();
    assert!(extra.is_empty(), "series promex does not have: {extra:?}");
    assert!(compared > 500, "only {compared} values compared");
    Ok(())
}
