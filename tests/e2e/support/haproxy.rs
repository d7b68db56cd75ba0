//! A real HAProxy for the tests: a process on a config of the test's own,
//! the settled fixture with servers in every state, its stats page and
//! admin socket.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use super::{eventually, request};

/// A free loopback port (bound, then released).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A real HAProxy with frontends, a backend whose servers are UP, DOWN,
/// MAINT, DRAIN and `no check`, an empty backend, an HTTP stats page and an
/// admin unix socket. Killed by PID when dropped.
pub struct Haproxy {
    _process: HaproxyProcess,
    pub stats_url: String,
    pub socket: PathBuf,
}

impl Haproxy {
    pub fn start(test: &str) -> Result<Self> {
        let dir = HaproxyProcess::dir(test)?;
        let (stats, web) = (free_port()?, free_port()?);
        let socket = dir.join("admin.sock");
        let config = format!(
            "global\n  stats socket {sock} mode 600 level admin\n\
             defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
             frontend stats\n  bind 127.0.0.1:{stats}\n  stats enable\n  stats uri /stats\n\
             frontend web\n  bind 127.0.0.1:{web}\n  default_backend app\n\
             backend app\n\
             \x20 server up1 127.0.0.1:{stats} check inter 100ms\n\
             \x20 server down1 127.0.0.1:1 check inter 100ms fall 1\n\
             \x20 server maint1 127.0.0.1:{stats} check disabled\n\
             \x20 server drain1 127.0.0.1:{stats} check inter 100ms\n\
             \x20 server nocheck1 127.0.0.1:{stats}\n\
             backend empty\n",
            sock = socket.display()
        );
        let haproxy = Haproxy {
            _process: HaproxyProcess::start(dir, &config)?,
            stats_url: format!("http://127.0.0.1:{stats}/stats;csv"),
            socket,
        };
        let addr = format!("127.0.0.1:{stats}");
        wait_for_stats(&addr)?;
        haproxy.command("set server app/drain1 state drain\n")?;
        wait_for_csv(
            &addr,
            &[
                ("app/up1", STATUS, "UP"),
                ("app/down1", STATUS, "DOWN"),
                ("app/drain1", STATUS, "DRAIN"),
                ("app/maint1", STATUS, "MAINT"),
                ("app/nocheck1", STATUS, "no check"),
            ],
        )?;
        Ok(haproxy)
    }

    /// Sends one command to the admin socket and returns the answer.
    pub fn command(&self, cmd: &str) -> Result<String> {
        admin_command(&self.socket, cmd)
    }
}

/// Sends one command to a HAProxy admin socket and returns the answer.
pub fn admin_command(socket: &std::path::Path, cmd: &str) -> Result<String> {
    let mut s = std::os::unix::net::UnixStream::connect(socket)?;
    s.write_all(cmd.as_bytes())?;
    s.shutdown(std::net::Shutdown::Write)?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// Waits until HAProxy's stats page on `addr` answers 200.
pub fn wait_for_stats(addr: &str) -> Result<()> {
    eventually(Duration::from_secs(20), || {
        Ok(request(addr, "GET", "/stats;csv", &[])
            .ok()
            .filter(|r| r.status == 200)
            .map(|_| ()))
    })
}

/// Column of a server's status in the stats CSV.
pub const STATUS: usize = 17;
/// Column of a server's last health check result in the stats CSV.
pub const CHECK_STATUS: usize = 36;

/// Waits until the stats CSV on `addr` shows every `(proxy/server, column,
/// value)` of `want`: health checks settle after HAProxy starts.
pub fn wait_for_csv(addr: &str, want: &[(&str, usize, &str)]) -> Result<()> {
    eventually(Duration::from_secs(20), || {
        let csv = request(addr, "GET", "/stats;csv", &[])?.text()?;
        let holds = |(server, column, value): &(&str, usize, &str)| {
            let prefix = format!("{},", server.replacen('/', ",", 1));
            csv.lines()
                .find(|l| l.starts_with(&prefix))
                .is_some_and(|l| l.split(',').nth(*column) == Some(*value))
        };
        Ok(want.iter().all(holds).then_some(()))
    })
}

/// A HAProxy process run from a config in its own temporary directory,
/// killed by PID (and the directory removed) when dropped.
pub struct HaproxyProcess {
    child: Child,
    dir: PathBuf,
}

impl HaproxyProcess {
    /// A fresh folder for one test's HAProxy files.
    pub fn dir(test: &str) -> Result<PathBuf> {
        Ok(super::fresh_dir(&format!("haproxy-{test}"))?)
    }

    /// Starts HAProxy on `config`, written into `dir`.
    pub fn start(dir: PathBuf, config: &str) -> Result<Self> {
        let cfg = dir.join("haproxy.cfg");
        std::fs::write(&cfg, config)?;
        let child = Command::new("haproxy")
            .arg("-f")
            .arg(&cfg)
            .arg("-db")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting haproxy (make test installs it)")?;
        Ok(HaproxyProcess { child, dir })
    }
}

impl Drop for HaproxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `haproxy.yml` that scrapes `uri` with `grant` as its one fetch grant.
pub fn haproxy_yml(uri: &str, grant: &str) -> String {
    format!(
        "config:\n  scrape_uri: \"{uri}\"\n  ssl_verify: false\n  timeout: 2s\ngrants:\n  fetch:\n    - \"{grant}\"\n"
    )
}
