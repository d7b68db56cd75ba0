//! `/probe`: a real Prometheus scrapes several HAProxys through one
//! exporter with the deploy directory's relabelling; grants decide before
//! anything is contacted (a listener records every connection); bad
//! requests get 400 with a message; identical probes share one call,
//! different targets never do; a module's probe slots are a limit.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;

use crate::support::*;

/// A loopback HTTP server that records the path of every connection it
/// accepts and, after `delay`, answers a small HAProxy CSV whose backend
/// is named after the path (`/a;csv` → `be_a`).
struct Recorder {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start(delay: Duration) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let record = Arc::clone(&record);
                std::thread::spawn(move || {
                    let mut line = String::new();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                    record.lock().unwrap().push(path.clone());
                    std::thread::sleep(delay);
                    let name = path.trim_start_matches('/').trim_end_matches(";csv");
                    let body = csv_with_backend(&format!("be_{name}"));
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        Ok(Recorder { port, seen })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// HAProxy 2.6's CSV header and one backend row, UP, of as many fields.
fn csv_with_backend(backend: &str) -> String {
    let header = include_str!("../../plugins/haproxy/testdata/haproxy-2.6.csv")
        .lines()
        .next()
        .unwrap_or_default();
    let mut row: Vec<&str> = vec![""; header.split(',').count()];
    row[0] = backend;
    row[1] = "BACKEND";
    row[17] = "UP";
    row[32] = "1";
    format!("{header}\n{}\n", row.join(","))
}

fn probe(exporter: &Exporter, module: &str, target: &str) -> Result<HttpResponse> {
    exporter.get(
        &format!("/probe?module={module}&target={}", encode(target)),
        &[],
    )
}

#[test]
fn a_target_outside_the_grants_is_refused_and_never_contacted() -> Result<()> {
    let recorder = Recorder::start(Duration::ZERO)?;
    let dir = PluginsDir::new("probe-denied");
    let granted = recorder.url("/granted;csv");
    dir.add(
        "haproxy",
        "haproxy",
        Some(
            "enabled: false\ngrants:\n  fetch: [\"http://127.0.0.1:*/granted;csv\", \"tcp://*.example.com:*\"]\n",
        ),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    let port = recorder.port;
    for denied in [
        recorder.url("/stats;csv"),
        recorder.url("/granted;csv/more"),
        format!("https://127.0.0.1:{port}/granted;csv"),
        format!("http://localhost:{port}/granted;csv"),
        format!("tcp://127.0.0.1:{port}"),
        "unix:/tmp/x.sock".to_owned(),
        format!("http://127.0.0.1:{port}/granted;csv@evil.example/"),
    ] {
        let r = probe(&exporter, "haproxy", &denied)?;
        assert_eq!(r.status, 403, "{denied}: {}", r.text()?);
        let text = r.text()?;
        assert!(
            text.contains("outside module \"haproxy\"'s grants.fetch; nothing was contacted"),
            "{text}"
        );
    }
    assert_eq!(
        recorder.seen(),
        Vec::<String>::new(),
        "a denied target was contacted"
    );

    // The control: a granted target on the same listener is contacted, so
    // the listener would have seen the denied ones.
    let r = probe(&exporter, "haproxy", &granted)?;
    assert_eq!(r.status, 200);
    let body = r.text()?;
    assert_eq!(sample(&body, "haproxy_up"), Some(1.0), "{body}");
    assert_eq!(sample(&body, "wasm_exporter_probe_success"), Some(1.0));
    assert_eq!(
        sample(&body, "haproxy_backend_up{backend=\"be_granted\"}"),
        Some(1.0),
        "{body}"
    );
    assert_eq!(recorder.seen(), vec!["/granted;csv".to_owned()]);

    let metrics = exporter.scrape_text()?;
    assert_eq!(
        sample(&metrics, "wasm_exporter_probes_total{module=\"haproxy\"}"),
        Some(8.0)
    );
    assert_eq!(
        sample(
            &metrics,
            "wasm_exporter_probe_failures_total{module=\"haproxy\",reason=\"target_denied\"}"
        ),
        Some(7.0)
    );
    assert_eq!(
        sample(
            &metrics,
            "wasm_exporter_module_probe_duration_seconds_count{module=\"haproxy\"}"
        ),
        Some(8.0)
    );
    // A probe-only module (enabled: false) is not collected on /metrics.
    assert_eq!(plugin_up(&metrics, "haproxy"), None, "{metrics}");
    Ok(())
}

#[test]
fn bad_probe_requests_are_answered_400_with_a_message() -> Result<()> {
    let dir = PluginsDir::new("probe-bad");
    dir.add(
        "haproxy",
        "haproxy",
        Some("grants:\n  fetch: [\"http://127.0.0.1:*/*\"]\n"),
    )
    .add("latency-simulator", "latency-simulator", None)
    .write("broken.wasm", b"not a component");
    let exporter = Exporter::start(&dir.path, &[])?;
    let cases = [
        (
            "/probe?target=http://127.0.0.1:1/",
            400,
            "module parameter is missing",
        ),
        ("/probe?module=haproxy", 400, "target parameter is missing"),
        (
            "/probe?module=haproxy&target=",
            400,
            "target parameter is missing",
        ),
        (
            "/probe?module=haproxy&target=a&target=b",
            400,
            "target parameter given more than once",
        ),
        (
            "/probe?module=nope&target=x",
            400,
            "unknown module \"nope\"; the modules that answer /probe: haproxy",
        ),
        (
            "/probe?module=latency-simulator&target=x",
            400,
            "module \"latency-simulator\" does not answer /probe: its plugin does not export wasm-exporter:plugin/prober@0.3.0",
        ),
        (
            "/probe?module=haproxy&target=ftp://127.0.0.1/x",
            400,
            "target \"ftp://127.0.0.1/x\": unsupported scheme",
        ),
        (
            "/probe?module=broken&target=x",
            503,
            "module \"broken\" is not loaded",
        ),
        ("/probe?module=%FF&target=x", 400, "is not UTF-8"),
    ];
    for (path, status, message) in cases {
        let r = exporter.get(path, &[])?;
        let text = r.text()?;
        assert_eq!(r.status, status, "{path}: {text}");
        assert!(text.contains(message), "{path}: {text}");
    }
    let r = request(
        &exporter.addr,
        "POST",
        "/probe?module=haproxy&target=x",
        &[],
    )?;
    assert_eq!(r.status, 405);
    // The exporter still serves.
    let metrics = exporter.scrape_text()?;
    assert_eq!(
        sample(
            &metrics,
            "wasm_exporter_probe_failures_total{module=\"haproxy\",reason=\"invalid_target\"}"
        ),
        Some(1.0)
    );
    Ok(())
}

#[test]
fn identical_probes_share_one_call_and_different_targets_never_do() -> Result<()> {
    let recorder = Recorder::start(Duration::from_millis(800))?;
    let dir = PluginsDir::new("probe-coalesce");
    dir.add(
        "haproxy",
        "haproxy",
        Some("enabled: false\ngrants:\n  fetch: [\"http://127.0.0.1:*/*\"]\n"),
    );
    let exporter = Arc::new(Exporter::start(&dir.path, &[])?);
    let run = |targets: Vec<String>| -> Vec<String> {
        let handles: Vec<_> = targets
            .into_iter()
            .map(|t| {
                let exporter = Arc::clone(&exporter);
                std::thread::spawn(move || probe(&exporter, "haproxy", &t).unwrap().text().unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    };
    let same = run(vec![recorder.url("/a;csv"); 4]);
    assert_eq!(
        recorder.seen(),
        vec!["/a;csv".to_owned()],
        "four identical probes, one call"
    );
    for body in &same {
        assert_eq!(
            sample(body, "haproxy_backend_up{backend=\"be_a\"}"),
            Some(1.0),
            "{body}"
        );
        assert_eq!(
            sample(body, "haproxy_exporter_scrapes_total"),
            Some(1.0),
            "{body}"
        );
    }
    let different = run(vec![recorder.url("/b;csv"), recorder.url("/c;csv")]);
    let mut seen = recorder.seen();
    seen.sort();
    assert_eq!(seen, vec!["/a;csv", "/b;csv", "/c;csv"]);
    assert_eq!(
        sample(&different[0], "haproxy_backend_up{backend=\"be_b\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&different[0], "haproxy_backend_up{backend=\"be_c\"}"),
        None
    );
    assert_eq!(
        sample(&different[1], "haproxy_backend_up{backend=\"be_c\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&different[1], "haproxy_backend_up{backend=\"be_b\"}"),
        None
    );
    Ok(())
}

#[test]
fn a_module_runs_at_most_its_probe_concurrency_and_the_scrape_timeout_bounds_the_wait() -> Result<()>
{
    let recorder = Recorder::start(Duration::from_millis(2000))?;
    let dir = PluginsDir::new("probe-busy");
    dir.add(
        "haproxy",
        "haproxy",
        Some("enabled: false\ngrants:\n  fetch: [\"http://127.0.0.1:*/*\"]\nlimits:\n  probe_concurrency: 1\n"),
    );
    let exporter = Arc::new(Exporter::start(&dir.path, &[])?);
    let slow = {
        let exporter = Arc::clone(&exporter);
        let target = recorder.url("/slow;csv");
        std::thread::spawn(move || {
            probe(&exporter, "haproxy", &target)
                .unwrap()
                .text()
                .unwrap()
        })
    };
    eventually(Duration::from_secs(5), || {
        Ok((!recorder.seen().is_empty()).then_some(()))
    })?;
    // The one slot is taken for 2 s; this probe may wait 0.5 s.
    let r = exporter.get(
        &format!(
            "/probe?module=haproxy&target={}",
            encode(&recorder.url("/other;csv"))
        ),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "1")],
    )?;
    assert_eq!(r.status, 200);
    let busy = r.text()?;
    assert_eq!(
        sample(&busy, "wasm_exporter_probe_success"),
        Some(0.0),
        "{busy}"
    );
    assert_eq!(sample(&busy, "haproxy_up"), None, "{busy}");
    let slow = slow.join().unwrap();
    assert_eq!(
        sample(&slow, "wasm_exporter_probe_success"),
        Some(1.0),
        "{slow}"
    );
    assert_eq!(
        recorder.seen(),
        vec!["/slow;csv".to_owned()],
        "the busy probe never ran"
    );
    let metrics = exporter.scrape_text()?;
    assert_eq!(
        sample(
            &metrics,
            "wasm_exporter_probe_failures_total{module=\"haproxy\",reason=\"busy\"}"
        ),
        Some(1.0)
    );
    Ok(())
}

/// A HAProxy whose only backend is named `backend`, its CSV on the returned
/// URL.
fn small_haproxy(test: &str, backend: &str) -> Result<(HaproxyProcess, String)> {
    let dir = HaproxyProcess::dir(test)?;
    let stats = free_port()?;
    let config = format!(
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend stats\n  bind 127.0.0.1:{stats}\n  stats enable\n  stats uri /stats\n\
         backend {backend}\n  server s1 127.0.0.1:{stats}\n"
    );
    let process = HaproxyProcess::start(dir, &config)?;
    let url = format!("http://127.0.0.1:{stats}/stats;csv");
    let addr = format!("127.0.0.1:{stats}");
    wait_for_stats(&addr)?;
    Ok((process, url))
}

#[test]
fn a_real_prometheus_probes_two_haproxys_through_one_exporter() -> Result<()> {
    probes_through("probe", |config| {
        Prometheus::start_with("probe", config, &[])
    })
}

#[test]
fn prometheus_3_probes_two_haproxys_through_one_exporter() -> Result<()> {
    probes_through("probe3", |config| Prometheus::start3("probe", config, &[]))
}

/// The shipped `/probe` module and scrape config, scraped by the
/// Prometheus `start` starts with a config; `test` names the directories.
fn probes_through(test: &str, start: impl FnOnce(&str) -> Result<Prometheus>) -> Result<()> {
    let (_one, one) = small_haproxy(&format!("{test}-one"), "be_one")?;
    let (_two, two) = small_haproxy(&format!("{test}-two"), "be_two")?;
    let gone = format!("http://127.0.0.1:{}/stats;csv", free_port()?);
    let dir = PluginsDir::new(&format!("{test}-prometheus"));
    // The deploy directory's module, granted loopback instead of example.com.
    let module =
        std::fs::read_to_string(tests_dir().join("../deploy/prometheus/haproxy-module.yml"))?
            .replace(
                "http://*.example.com:8404/stats;csv",
                "http://127.0.0.1:*/stats;csv",
            );
    dir.add("haproxy", "haproxy", Some(&module));
    let exporter = Exporter::start(&dir.path, &[])?;
    // The deploy directory's scrape config, pointed at our targets.
    let job = std::fs::read_to_string(tests_dir().join("../deploy/prometheus/haproxy-probe.yml"))?
        .replace("http://lb1.example.com:8404/stats;csv", &one)
        .replace("http://lb2.example.com:8404/stats;csv", &two)
        .replace("http://lb3.example.com:8404/stats;csv", &gone)
        .replace("127.0.0.1:10157", &exporter.addr);
    let config = format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n{job}");
    let prometheus = start(&config)?;
    let ups = eventually(Duration::from_secs(30), || {
        let ups = prometheus.query("haproxy_up{job=\"haproxy\"}")?;
        Ok((ups.len() == 3).then_some(ups))
    })?;
    let up_of = |instance: &str| {
        ups.iter()
            .find(|s| s["metric"]["instance"] == instance)
            .map(value)
    };
    assert_eq!(up_of(&one), Some(1.0), "{ups:?}");
    assert_eq!(up_of(&two), Some(1.0), "{ups:?}");
    assert_eq!(up_of(&gone), Some(0.0), "{ups:?}");
    for (instance, backend, other) in [(&one, "be_one", "be_two"), (&two, "be_two", "be_one")] {
        let own = prometheus.query(&format!(
            "haproxy_backend_up{{instance=\"{instance}\",backend=\"{backend}\"}}"
        ))?;
        assert_eq!(own.len(), 1, "{instance}: {own:?}");
        let foreign = prometheus.query(&format!(
            "haproxy_backend_up{{instance=\"{instance}\",backend=\"{other}\"}}"
        ))?;
        assert!(foreign.is_empty(), "{instance} has {other}: {foreign:?}");
    }
    // Every probe succeeded as a probe, the dead HAProxy included (its
    // absence is data), and Prometheus' own `up` says the exporter answered.
    let success = prometheus.query("wasm_exporter_probe_success{job=\"haproxy\"}")?;
    assert_eq!(success.len(), 3);
    assert!(success.iter().all(|s| value(s) == 1.0), "{success:?}");
    let up = prometheus.query("up{job=\"haproxy\"}")?;
    assert!(up.iter().all(|s| value(s) == 1.0), "{up:?}");
    Ok(())
}

#[test]
fn a_scraper_that_hangs_up_does_not_keep_the_slot() -> Result<()> {
    let recorder = Recorder::start(Duration::from_millis(1500))?;
    let dir = PluginsDir::new("probe-hangup");
    dir.add(
        "haproxy",
        "haproxy",
        Some("enabled: false\ngrants:\n  fetch: [\"http://127.0.0.1:*/*\"]\nlimits:\n  probe_concurrency: 1\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    // Ask, and hang up while the one slot is busy with the answer.
    {
        use std::io::Write as _;
        let mut stream = std::net::TcpStream::connect(&exporter.addr)?;
        let path = format!(
            "/probe?module=haproxy&target={}",
            encode(&recorder.url("/gone;csv"))
        );
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")?;
        eventually(Duration::from_secs(5), || {
            Ok((!recorder.seen().is_empty()).then_some(()))
        })?;
    }
    // The abandoned probe finishes and frees the slot: the next one runs.
    let r = exporter.get(
        &format!(
            "/probe?module=haproxy&target={}",
            encode(&recorder.url("/next;csv"))
        ),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "6")],
    )?;
    let body = r.text()?;
    assert_eq!(
        sample(&body, "wasm_exporter_probe_success"),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "haproxy_backend_up{backend=\"be_next\"}"),
        Some(1.0),
        "{body}"
    );
    Ok(())
}
