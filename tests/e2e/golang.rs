//! Go plugins on the real client_golang: one set of collectors
//! (`tests/go/equivalence`: a CounterVec with an exemplar, a GaugeFunc, a
//! Summary with objectives, a classic-and-native HistogramVec with
//! exemplars, a native Histogram, and a custom Collect with
//! MustNewConstMetric) served natively by promhttp and, built as a plugin,
//! by wasm_exporter, give the same exposition in text 0.0.4, OpenMetrics 1.0
//! and protobuf, apart from each side's own process and exporter families
//! and the wall-clock times at which each process observed (created
//! timestamps, exemplar timestamps).

use std::process::{Child, Command, Stdio};

use anyhow::Result;

use crate::support::*;

/// The native program, killed (by PID) when dropped.
struct Native {
    child: Child,
    addr: String,
}

impl Native {
    fn start() -> Result<Native> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let bin = plugin_dir().join("../go/equivalence-native");
        let child = Command::new(&bin)
            .arg(&addr)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("{}: {e} (make guest-plugins builds it)", bin.display())
            })?;
        let native = Native { child, addr };
        eventually(std::time::Duration::from_secs(20), || {
            Ok(std::net::TcpStream::connect(&native.addr).ok().map(|_| ()))
        })?;
        Ok(native)
    }

    fn get(&self, accept: &str) -> Result<HttpResponse> {
        request(&self.addr, "GET", "/metrics", &[("Accept", accept)])
    }
}

impl Drop for Native {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The collectors' families (`equiv_*`), line by line: HELP, TYPE, UNIT
/// and samples.
fn equiv_lines(exposition: &str) -> String {
    exposition
        .lines()
        .filter(|l| {
            let name = ["# HELP ", "# TYPE ", "# UNIT "]
                .iter()
                .find_map(|p| l.strip_prefix(p))
                .unwrap_or(l);
            name.starts_with("equiv_")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// OpenMetrics lines with the times each process took itself masked
/// (`_created` values, exemplar timestamps) and a sample's own timestamp
/// read as the float it is (client_golang writes `1.70000000025e+09`,
/// wasm_exporter `1700000000.25`: the same float64 to every parser).
fn om_normalized(exposition: &str) -> String {
    equiv_lines(exposition)
        .lines()
        .map(|line| {
            if line.starts_with('#') {
                return line.to_owned();
            }
            let (sample, exemplar) = match line.split_once(" # ") {
                Some((s, e)) => (s, Some(e)),
                None => (line, None),
            };
            let end = sample.rfind('}').map_or(0, |i| i + 1);
            let (series, rest) = sample.split_at(end.max(sample.find(' ').unwrap_or(0)));
            let mut fields: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
            if series.contains("_created") {
                fields = vec!["T".into()];
            } else if fields.len() == 2 {
                let ts: f64 = fields[1].parse().expect("a timestamp");
                fields[1] = format!("{ts}");
            }
            let mut out = format!("{series} {}", fields.join(" "));
            if let Some(e) = exemplar {
                let mut parts: Vec<&str> = e.rsplitn(2, ' ').collect();
                parts.reverse();
                out.push_str(&format!(" # {} T", parts[0]));
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Decoded protobuf families named `equiv_*`, seconds and nanos masked.
fn pb_normalized(body: &[u8]) -> Result<String> {
    let decoded = crate::protobuf::decode_protobuf(body, true)?;
    let families: Vec<&str> = decoded
        .split("\n\n")
        .map(|b| b.trim_matches('\n'))
        .filter(|b| b.starts_with("name: \"equiv_"))
        .collect();
    Ok(families
        .join("\n\n")
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("seconds: ") || t.starts_with("nanos: ") {
                format!("{}T", &l[..l.find(':').unwrap_or(0) + 2])
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

#[test]
fn client_golang_collectors_serve_the_same_as_promhttp_in_every_format() -> Result<()> {
    let native = Native::start()?;
    let dir = PluginsDir::new("golang-equivalence");
    dir.add("equivalence", "equivalence", None);
    let exporter = Exporter::start(&dir.path, &[])?;

    let text = "text/plain;version=0.0.4";
    let theirs = equiv_lines(&native.get(text)?.text()?);
    let ours = equiv_lines(&exporter.get("/metrics", &[("Accept", text)])?.text()?);
    assert!(theirs.contains("equiv_size_bytes_bucket"), "{theirs}");
    assert_eq!(ours, theirs, "text 0.0.4");

    let om = "application/openmetrics-text;version=1.0.0";
    let theirs = om_normalized(&native.get(om)?.text()?);
    let ours = om_normalized(&exporter.get("/metrics", &[("Accept", om)])?.text()?);
    assert!(theirs.contains("equiv_requests_created"), "{theirs}");
    assert!(theirs.contains("# {trace_id=\"t\"}"), "{theirs}");
    assert_eq!(ours, theirs, "OpenMetrics 1.0");

    let pb = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
    let theirs = pb_normalized(&native.get(pb)?.body)?;
    let ours = pb_normalized(&exporter.get("/metrics", &[("Accept", pb)])?.body)?;
    assert!(theirs.contains("positive_span"), "native buckets: {theirs}");
    assert_eq!(ours, theirs, "protobuf");
    Ok(())
}

/// The latency simulator on client_golang's own Summary and Histogram
/// (`tests/go/simulator`), fed the Rust port's random stream and time
/// model, beside the Rust port in one exporter with the same seed: the
/// same observations, so the same counts and sums, and quantiles equal to
/// the last bit or two (the Rust port's CKMS is client_golang's).
#[test]
fn the_rust_simulator_computes_the_quantiles_client_golang_computes() -> Result<()> {
    let dir = PluginsDir::new("golang-simulator");
    dir.add(
        "latency-simulator",
        "latency-simulator",
        Some("config:\n  seed: 42\nlabels:\n  impl: rust\n"),
    )
    .add(
        "latency-simulator-go",
        "latency-simulator-go",
        Some("config:\n  seed: 42\nlabels:\n  impl: go\n"),
    );
    let exporter = Exporter::start(&dir.path, &[])?;
    exporter.wait_for_log(&["plugin loaded", "plugin=latency-simulator-go"]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    // Each scrape compares the services whose two collects saw the same
    // observations; on a loaded machine one scrape may catch too few, so
    // a few are taken, every comparison of each checked.
    let mut body = String::new();
    let mut compared = 0;
    for _ in 0..10 {
        body = exporter.scrape_text()?;
        compared = compare_simulators(&body);
        if compared >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert!(
        compared >= 2,
        "the collects kept missing each other:\n{body}"
    );
    Ok(())
}

/// Checks, for each service both simulators in `body` observed as often,
/// that the Rust port's sum and quantiles are client_golang's, and returns
/// how many services it compared.
fn compare_simulators(body: &str) -> usize {
    let value = |imp: &str, rest: &str| -> f64 {
        let series = rest.replacen('{', &format!("{{impl=\"{imp}\","), 1);
        sample(body, &series).unwrap_or_else(|| panic!("no {series}:\n{body}"))
    };
    let mut compared = 0;
    for service in ["exponential", "normal", "uniform"] {
        let count = format!("rpc_durations_seconds_count{{service=\"{service}\"}}");
        let (rust, go) = (value("rust", &count), value("go", &count));
        if rust != go {
            // One collect a few milliseconds after the other, across an
            // observation's due time: nothing to compare this time.
            continue;
        }
        assert!(rust > 10.0, "{service}: {rust} observations");
        let sum = format!("rpc_durations_seconds_sum{{service=\"{service}\"}}");
        assert_eq!(value("rust", &sum), value("go", &sum), "{service} sum");
        for q in ["0.5", "0.9", "0.99"] {
            let s = format!("rpc_durations_seconds{{service=\"{service}\",quantile=\"{q}\"}}");
            let (r, g) = (value("rust", &s), value("go", &s));
            assert!(
                (r - g).abs() <= 1e-12 * g.abs(),
                "{service} {q}: Rust port {r}, client_golang {g}"
            );
        }
        compared += 1;
    }
    compared
}
