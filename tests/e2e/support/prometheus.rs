//! A real Prometheus (Debian's 2.42) for the tests, on 127.0.0.1, and the
//! helpers to query it.

use std::process::{Child, Command, Stdio};
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

    /// A server named `name` (its data directory) with `features` enabled
    /// beside exemplar storage.
    pub fn start_with(name: &str, config: &str, features: &[&str]) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "wasm_exporter-prometheus-server-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("prometheus.yml"), config)?;
        let addr = format!("127.0.0.1:{}", free_port()?);
        let child = Command::new("prometheus")
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
            .context("starting prometheus (make test installs it)")?;
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
