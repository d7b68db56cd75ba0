//! Test support: run the real `wasm_exporter` binary on a temporary plugins
//! directory, talk HTTP to it, and run the independent checkers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub mod api;
pub mod golden;
pub mod haproxy;
pub mod pki;
pub mod prometheus;
pub use haproxy::*;
pub use prometheus::*;

/// Where `make plugins` put the built plugins.
pub fn plugin_dir() -> PathBuf {
    std::env::var_os("WASM_EXPORTER_PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/plugins"))
}

/// Path of a built plugin; fails with a hint when it was not built.
pub fn plugin(name: &str) -> PathBuf {
    let path = plugin_dir().join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} missing: run `make plugins` (or `make test`)",
        path.display()
    );
    path
}

/// The repository's tests/ folder.
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests")
}

/// A temporary plugins directory.
pub struct PluginsDir {
    pub path: PathBuf,
}

/// A fresh, empty folder under the temp dir named after `what`, one of its
/// own for each call: the tests of one binary run in parallel in one
/// process, and several may share a helper (and so a name); a folder
/// named by the process alone was removed under one test when another
/// that shared it finished.
pub fn fresh_dir(what: &str) -> std::io::Result<PathBuf> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("wasm_exporter-{what}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path)?;
    Ok(path)
}

impl PluginsDir {
    pub fn new(test: &str) -> Self {
        let path = fresh_dir(test).unwrap_or_else(|e| panic!("creating a folder for {test}: {e}"));
        PluginsDir { path }
    }

    /// Copies built plugin `plugin` in as `name.wasm`, with `yml` beside it.
    pub fn add(&self, name: &str, plugin_name: &str, yml: Option<&str>) -> &Self {
        let target = self.path.join(format!("{name}.wasm"));
        std::fs::copy(plugin(plugin_name), &target).unwrap_or_else(|e| panic!("copy: {e}"));
        if let Some(yml) = yml {
            self.write(&format!("{name}.yml"), yml.as_bytes());
        }
        self
    }

    pub fn write(&self, file: &str, content: &[u8]) -> &Self {
        std::fs::write(self.path.join(file), content)
            .unwrap_or_else(|e| panic!("write {file}: {e}"));
        self
    }
}

impl Drop for PluginsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A running exporter, killed (by PID) when dropped.
pub struct Exporter {
    child: Child,
    pub addr: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Exporter {
    /// Starts the binary on a free loopback port and waits until ready.
    pub fn start(dir: &Path, extra: &[&str]) -> Result<Self> {
        Self::start_meanwhile(dir, extra, |_| ())
    }

    /// As [`Self::start`], running `meanwhile` once the exporter listens,
    /// while its plugins load.
    pub fn start_meanwhile(
        dir: &Path,
        extra: &[&str],
        meanwhile: impl FnOnce(&Exporter),
    ) -> Result<Self> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasm_exporter"));
        cmd.args(["--web.listen-address", "127.0.0.1:0"]);
        Self::spawn(cmd, dir, extra, true, meanwhile)
    }

    /// Starts the binary as `cmd` says (TLS or auth on, or socket
    /// activation), ready once it logs so rather than on a plain HTTP probe.
    pub fn start_secured(cmd: Command, dir: &Path, extra: &[&str]) -> Result<Self> {
        Self::spawn(cmd, dir, extra, false, |_| ())
    }

    fn spawn(
        mut cmd: Command,
        dir: &Path,
        extra: &[&str],
        probe: bool,
        meanwhile: impl FnOnce(&Exporter),
    ) -> Result<Self> {
        let mut child = cmd
            .arg("--plugins.dir")
            .arg(dir)
            .args(["--log.level", "debug"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting wasm_exporter")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let logs = Arc::clone(&logs);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    // logfmt `address=...` or JSON `"address":"..."`.
                    let addr = line
                        .split("address=")
                        .nth(1)
                        .or_else(|| line.split("\"address\":\"").nth(1))
                        .map(|rest| rest.split([' ', '"']).next().unwrap_or("").to_owned());
                    if let Some(addr) = addr {
                        let _ = tx.send(addr);
                    }
                    logs.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        let mut exporter = Exporter {
            child,
            addr: String::new(),
            logs,
        };
        exporter.addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => bail!(
                "exporter did not report its address; logs:\n{}",
                exporter.logs().join("\n")
            ),
        };
        meanwhile(&exporter);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ready = if probe {
                exporter.get("/-/ready", &[]).is_ok_and(|r| r.status == 200)
            } else {
                !exporter
                    .logs_matching(&["plugins loaded, ready"])
                    .is_empty()
            };
            if ready {
                return Ok(exporter);
            }
            if let Ok(Some(status)) = exporter.child.try_wait() {
                bail!(
                    "exporter exited with {status}; logs:\n{}",
                    exporter.logs().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("exporter not ready in time")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Log lines so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Log lines containing every one of `needles`.
    pub fn logs_matching(&self, needles: &[&str]) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .collect()
    }

    /// Waits (briefly) for log lines containing every one of `needles`, as
    /// the log is read from a pipe in the background.
    pub fn wait_for_log(&self, needles: &[&str]) -> Vec<String> {
        let found = eventually(Duration::from_secs(5), || {
            let lines = self.logs_matching(needles);
            Ok((!lines.is_empty()).then_some(lines))
        });
        found.unwrap_or_else(|_| {
            panic!(
                "no log line with {needles:?}; logs:\n{}",
                self.logs().join("\n")
            )
        })
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<HttpResponse> {
        request(&self.addr, "GET", path, headers)
    }

    /// GET /metrics as text 0.0.4, asserting 200.
    pub fn scrape_text(&self) -> Result<String> {
        let r = self.get("/metrics", &[])?;
        anyhow::ensure!(r.status == 200, "status {}", r.status);
        r.text()
    }

    /// GET /metrics as OpenMetrics 1.0, asserting 200.
    pub fn scrape_openmetrics(&self) -> Result<String> {
        let r = self.get(
            "/metrics",
            &[("Accept", "application/openmetrics-text; version=1.0.0")],
        )?;
        anyhow::ensure!(r.status == 200, "status {}", r.status);
        r.text()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> Result<std::process::ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("exporter did not stop after SIGTERM")
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> Result<String> {
        String::from_utf8(self.body.clone()).context("body is not UTF-8")
    }
}

/// Runs the binary on `dir` with `args`, which must make it refuse to start;
/// returns what it printed on stderr.
pub fn start_refused(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_wasm_exporter"))
        .args(["--web.listen-address", "127.0.0.1:0"])
        .args(args)
        .arg("--plugins.dir")
        .arg(dir)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    anyhow::ensure!(!out.status.success(), "started anyway: {stderr}");
    Ok(stderr)
}

/// A minimal HTTP/1.1 client, so that tests control every byte sent.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<HttpResponse> {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    send_raw(addr, raw.as_bytes())
}

/// Sends raw bytes and parses the response (Content-Length or to EOF).
pub fn send_raw(addr: &str, raw: &[u8]) -> Result<HttpResponse> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(raw)?;
    let mut data = Vec::new();
    stream.read_to_end(&mut data)?;
    let split = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no header end in response")?;
    let head = String::from_utf8_lossy(&data[..split]).into_owned();
    let body = data[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("bad status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked { dechunk(&body)? } else { body };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// Decodes a `Transfer-Encoding: chunked` body (Go servers send one).
fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("chunk size line")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        anyhow::ensure!(data.len() >= size + 2, "truncated chunk");
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The value of the sample `series` (exact text before the value), if any.
pub fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        let rest = l.strip_prefix(series)?;
        let value = rest.strip_prefix(' ')?.split_whitespace().next()?;
        match value {
            "+Inf" => Some(f64::INFINITY),
            "-Inf" => Some(f64::NEG_INFINITY),
            "NaN" => Some(f64::NAN),
            v => v.parse().ok(),
        }
    })
}

/// `wasm_exporter_plugin_up` of `plugin` in an exposition.
pub fn plugin_up(body: &str, plugin: &str) -> Option<f64> {
    sample(
        body,
        &format!("wasm_exporter_plugin_up{{plugin=\"{plugin}\"}}"),
    )
}

/// Polls `f` until it returns `Some`, or fails after `within`.
pub fn eventually<T>(within: Duration, mut f: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("condition not met within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Scrapes until `f` holds, or fails after 15 s with the exporter's logs.
pub fn scrape_until(e: &Exporter, what: &str, f: impl Fn(&str) -> bool) -> Result<String> {
    eventually(Duration::from_secs(15), || {
        let body = e.scrape_text()?;
        Ok(f(&body).then_some(body))
    })
    .map_err(|err| anyhow::anyhow!("{what}: {err}; logs:\n{}", e.logs().join("\n")))
}

/// Runs `program args` with `input` on stdin; returns (success, stdout+stderr).
pub fn run_with_stdin(program: &str, args: &[&str], input: &str) -> Result<(bool, String)> {
    let (ok, stdout, stderr) = run_with_bytes(program, args, input.as_bytes())?;
    Ok((ok, stdout + &stderr))
}

/// Runs `program args` with `input` on stdin; returns (success, stdout,
/// stderr).
pub fn run_with_bytes(
    program: &str,
    args: &[&str],
    input: &[u8],
) -> Result<(bool, String, String)> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {program} (make test installs it)"))?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let input = input.to_vec();
    // Written from a thread: a large input would fill the pipe while the
    // child's output fills the other.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("stdin writer panicked"))??;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The Python interpreter with `prometheus_client` (set up by `make test`).
pub fn python() -> String {
    std::env::var("WASM_EXPORTER_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Compares `actual` with the golden file `tests/golden/NAME`; `BLESS=1`
/// rewrites it.
pub fn golden(name: &str, actual: &str) {
    golden::check(&tests_dir().join("golden").join(name), actual);
}

/// Replaces values that change between runs (durations, build labels) with
/// `<masked>` and leaves out `process_*` (which vary by machine), so the rest
/// can be compared exactly.
pub fn mask(exposition: &str) -> String {
    let unstable = [
        "wasm_exporter_plugin_collect_duration_seconds",
        // How many scrapes came before this one depends on the test.
        "promhttp_metric_handler_requests_total",
        "wasm_exporter_plugin_memory_bytes",
        "wasm_exporter_plugin_memory_peak_bytes",
        "wasm_exporter_plugin_cpu_seconds_total",
        "wasm_exporter_build_info",
    ];
    let mut out = String::new();
    for line in exposition.lines() {
        let name = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
            .or_else(|| line.strip_prefix("# UNIT "))
            .unwrap_or(line);
        if name.starts_with("process_") {
            continue;
        }
        let is_sample = !line.starts_with('#');
        if is_sample && unstable.iter().any(|p| line.starts_with(p)) {
            let name_end = line.find([' ', '{']).unwrap_or(line.len());
            let labels_end = if line[name_end..].starts_with('{') {
                line.rfind('}').map_or(name_end, |i| i + 1)
            } else {
                name_end
            };
            let labels = if line.starts_with("wasm_exporter_build_info") {
                "{<masked>}"
            } else {
                &line[name_end..labels_end]
            };
            out.push_str(&line[..name_end]);
            out.push_str(labels);
            out.push_str(" <masked>\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
