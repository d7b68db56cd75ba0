//! A real Prometheus for the tests, on 127.0.0.1: Debian's 2.42 or the
//! Prometheus 3 that `make go-tools` builds, and the helpers to query it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use super::haproxy::free_port;
use super::{eventually, request};

/// A Prometheus server on 127.0.0.1, killed by PID when dropped.
pub struct Prometheus {
    child: Child,
    dir: std::path::PathBuf,
    pub addr: String,
}

impl Prometheus {
    /// A server with exemplar storage on, scraping as `config` says.
    pub fn start(config: &str) -> Result<Self> {
        Self::start_with("main", config, &[])
    }

    /// A 2.42 server named `name` (its data directory) with `features`
    /// enabled beside exemplar storage.
    pub fn start_with(name: &str, config: &str, features: &[&str]) -> Result<Self> {
        Self::start_binary(Path::new("prometheus"), name, config, features)
    }

    /// A Prometheus 3 server (the one `make go-tools` builds) named `name`
    /// with `features` enabled beside exemplar storage.
    pub fn start3(name: &str, config: &str, features: &[&str]) -> Result<Self> {
        let binary = go_tool("WASM_EXPORTER_PROMETHEUS3", "prometheus-3.16.0/prometheus");
        Self::start_binary(&binary, &format!("3-{name}"), config, features)
    }

    fn start_binary(binary: &Path, name: &str, config: &str, features: &[&str]) -> Result<Self> {
        let dir = super::fresh_dir(&format!("prometheus-server-{name}"))?;
        std::fs::write(dir.join("prometheus.yml"), config)?;
        let addr = format!("127.0.0.1:{}", free_port()?);
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--enable-feature=exemplar-storage")
            .args(features.iter().map(|f| format!("--enable-feature={f}")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} (make test installs it)", binary.display()))?;
        let p = Prometheus { child, dir, addr };
        eventually(Duration::from_secs(30), || {
            Ok(request(&p.addr, "GET", "/-/ready", &[])
                .ok()
                .filter(|r| r.status == 200))
        })?;
        Ok(p)
    }

    /// A GET of the HTTP API at `path`, as JSON.
    pub fn api(&self, path: &str) -> Result<serde_json::Value> {
        let r = request(&self.addr, "GET", path, &[])?;
        anyhow::ensure!(r.status == 200, "{path}: HTTP {}: {}", r.status, r.text()?);
        Ok(serde_json::from_slice(&r.body)?)
    }

    /// Instant query; the result vector.
    pub fn query(&self, promql: &str) -> Result<Vec<serde_json::Value>> {
        let v = self.api(&format!("/api/v1/query?query={}", encode(promql)))?;
        v["data"]["result"]
            .as_array()
            .cloned()
            .with_context(|| format!("no result for {promql}: {v}"))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A scrape target that records the `Accept` header of each scrape and
/// answers with one gauge: what a Prometheus asks for.
pub struct AcceptCapture {
    /// `host:port` to scrape.
    pub addr: String,
    accepts: Arc<Mutex<Vec<String>>>,
}

impl AcceptCapture {
    /// A capturing target on 127.0.0.1, answering on its own thread.
    pub fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?.to_string();
        let accepts = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&accepts);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    if let Some(v) = line.strip_prefix("Accept: ") {
                        seen.lock().unwrap().push(v.trim_end().to_owned());
                    }
                    line.clear();
                }
                let body = "captured 1\n";
                let _ = write!(
                    &stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Ok(AcceptCapture { addr, accepts })
    }

    /// The first `Accept` header received, if any scrape came.
    pub fn first(&self) -> Option<String> {
        self.accepts.lock().unwrap().first().cloned()
    }
}

/// A tool built from Go sources by `make go-tools`: the path in `var`
/// (which `make` exports), else `build/BUILT`.
pub fn go_tool(var: &str, built: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../build")
                .join(built)
        },
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "{} missing: run `make go-tools` (or `make test`)",
        path.display()
    );
    path
}

/// Percent-encodes a query parameter.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of one sample of a query result.
pub fn value(sample: &serde_json::Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("a sample value")
}
