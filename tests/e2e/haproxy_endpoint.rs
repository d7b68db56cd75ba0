//! The haproxy plugin's stats endpoint when it misbehaves or asks for more:
//! grants that deny, a slow or closing target, a body cut by the deadline,
//! HTTPS with basic auth and a TCP socket, and keep-alive.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Result;

use crate::support::*;

/// A TCP listener that counts connections and never answers.
fn silent_listener() -> Result<(TcpListener, String)> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let addr = l.local_addr()?.to_string();
    Ok((l, addr))
}

#[test]
fn a_slow_target_times_out_within_the_deadline() -> Result<()> {
    let (listener, addr) = silent_listener()?;
    let target = format!("http://{addr}/;csv");
    let dir = PluginsDir::new("slow");
    // timeout: 2s in the plugin config; the plugin's deadline is 10 s.
    dir.add("haproxy", "haproxy", Some(&haproxy_yml(&target, &target)));
    let e = Exporter::start(&dir.path, &[])?;
    let body = e.scrape_text()?;
    drop(listener);
    assert_eq!(sample(&body, "haproxy_up"), Some(0.0));
    assert_eq!(
        sample(&body, "wasm_exporter_plugin_up{plugin=\"haproxy\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &body,
            "wasm_exporter_plugin_errors_total{plugin=\"haproxy\",reason=\"fetch\"}"
        ),
        Some(1.0)
    );
    let took = sample(
        &body,
        "wasm_exporter_plugin_collect_duration_seconds{plugin=\"haproxy\"}",
    )
    .expect("the haproxy plugin's duration");
    assert!(took < 10.0, "collect took {took} s, past its 10 s deadline");
    e.wait_for_log(&["fetch failed", "timeout"]);
    Ok(())
}

#[test]
fn a_socket_that_closes_at_once_and_a_body_cut_by_the_deadline() -> Result<()> {
    // A unix socket that accepts and closes without a byte.
    let dir = PluginsDir::new("sockets");
    let sock = dir.path.join("closing.sock");
    let closing = UnixListener::bind(&sock)?;
    std::thread::spawn(move || {
        for conn in closing.incoming() {
            drop(conn);
        }
    });
    // An HTTP server that sends half a body, then stalls.
    let stall = TcpListener::bind("127.0.0.1:0")?;
    let stall_addr = stall.local_addr()?.to_string();
    std::thread::spawn(move || {
        for conn in stall.incoming().flatten() {
            let mut conn = conn;
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n# pxname,svname\nfoo,",
            );
            std::thread::sleep(Duration::from_secs(30));
        }
    });
    let closing_uri = format!("unix:{}", sock.display());
    let stall_uri = format!("http://{stall_addr}/;csv");
    let yml = format!(
        "instances:\n  closing:\n    config: {{scrape_uri: \"{closing_uri}\"}}\n    grants: {{fetch: [\"{closing_uri}\"]}}\n    labels: {{target: closing}}\n  stalling:\n    config: {{scrape_uri: \"{stall_uri}\", timeout: 1s}}\n    grants: {{fetch: [\"{stall_uri}\"]}}\n    labels: {{target: stalling}}\n"
    );
    dir.add("haproxy", "haproxy", Some(&yml));
    let e = Exporter::start(&dir.path, &[])?;
    let body = e.scrape_text()?;
    // A stats socket that answers nothing is reported down (see README).
    assert_eq!(
        sample(&body, "haproxy_up{target=\"closing\"}"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "haproxy_exporter_csv_parse_failures_total{target=\"closing\"}"
        ),
        Some(0.0)
    );
    assert_eq!(sample(&body, "haproxy_up{target=\"stalling\"}"), Some(0.0));
    for plugin in ["closing", "stalling"] {
        assert_eq!(plugin_up(&body, plugin), Some(1.0));
        assert_eq!(
            sample(
                &body,
                &format!(
                    "wasm_exporter_plugin_errors_total{{plugin=\"{plugin}\",reason=\"trap\"}}"
                )
            ),
            Some(0.0)
        );
    }
    Ok(())
}

/// A HAProxy serving its stats over TLS (self-signed, made by openssl) with
/// basic auth, and on a TCP stats socket.
struct SecureHaproxy {
    _process: HaproxyProcess,
    https: String,
    tcp: String,
}

impl SecureHaproxy {
    fn start() -> Result<Self> {
        let dir = HaproxyProcess::dir("tls")?;
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let status = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "openssl failed");
        let pem = dir.join("both.pem");
        std::fs::write(&pem, [std::fs::read(&cert)?, std::fs::read(&key)?].concat())?;
        let (https, tcp) = (free_port()?, free_port()?);
        let config = format!(
            "global\n  stats socket ipv4@127.0.0.1:{tcp} level admin\n\
             defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
             frontend stats\n  bind 127.0.0.1:{https} ssl crt {pem}\n  stats enable\n  stats uri /stats\n  stats auth admin:s3cr%t\n\
             backend app\n  server one 127.0.0.1:1\n",
            pem = pem.display()
        );
        let h = SecureHaproxy {
            _process: HaproxyProcess::start(dir, &config)?,
            https: format!("https://127.0.0.1:{https}/stats;csv"),
            tcp: format!("tcp://127.0.0.1:{tcp}"),
        };
        let addr = format!("127.0.0.1:{tcp}");
        eventually(Duration::from_secs(20), || {
            Ok(std::net::TcpStream::connect(&addr).ok())
        })?;
        Ok(h)
    }
}

#[test]
fn https_with_basic_auth_and_a_tcp_stats_socket() -> Result<()> {
    let h = SecureHaproxy::start()?;
    let with_auth = h.https.replace("https://", "https://admin:s3cr%25t@");
    let instance = |name: &str, uri: &str, verify: bool| {
        format!(
            "  {name}:\n    config: {{scrape_uri: \"{uri}\", ssl_verify: {verify}}}\n    grants: {{fetch: [\"{uri}\"]}}\n    labels: {{via: {name}}}\n"
        )
    };
    let yml = format!(
        "instances:\n{}{}{}{}",
        instance("tls", &with_auth, false),
        instance("verified", &with_auth, true),
        instance("noauth", &h.https, false),
        instance("tcp", &h.tcp, true),
    );
    let dir = PluginsDir::new("tls");
    dir.add("haproxy", "haproxy", Some(&yml));
    let e = Exporter::start(&dir.path, &[])?;
    let body = e.scrape_text()?;
    // Certificate checks skipped, credentials from the URL: scraped.
    assert_eq!(
        sample(&body, "haproxy_up{via=\"tls\"}"),
        Some(1.0),
        "{body}"
    );
    // Its one server has no health check: "no check" counts as up.
    assert_eq!(
        sample(
            &body,
            "haproxy_server_up{via=\"tls\",backend=\"app\",server=\"one\"}"
        ),
        Some(1.0)
    );
    // A self-signed certificate fails verification.
    assert_eq!(sample(&body, "haproxy_up{via=\"verified\"}"), Some(0.0));
    e.wait_for_log(&["fetch failed", "TLS handshake"]);
    // Without credentials HAProxy answers 401.
    assert_eq!(sample(&body, "haproxy_up{via=\"noauth\"}"), Some(0.0));
    // The TCP stats socket answers show info and show stat.
    assert_eq!(sample(&body, "haproxy_up{via=\"tcp\"}"), Some(1.0));
    assert!(
        body.contains("haproxy_version_info{via=\"tcp\",release_date="),
        "{body}"
    );
    // The password never reaches the log.
    assert!(
        e.logs_matching(&["s3cr"]).is_empty(),
        "{:#?}",
        e.logs_matching(&["s3cr"])
    );
    Ok(())
}

/// Serves a small stats CSV over HTTP/1.1 on every request of every
/// connection, closing after each answer when `close` is set; counts the
/// connections it accepted.
fn counting_stats_server(close: bool) -> Result<(String, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let body = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type\n\
                            app,BACKEND,0,0,1,2,,3,4,5,0,0,,0,0,0,0,UP,1,1,0,,0,10,0,,1,2,0,,3,,1\n";
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.clear();
                    let connection = if close { "close" } else { "keep-alive" };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
                        body.len()
                    );
                    if stream.write_all(head.as_bytes()).is_err()
                        || stream.write_all(body.as_bytes()).is_err()
                        || close
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok((addr, accepted))
}

#[test]
fn http_connections_to_haproxy_are_kept_alive_between_scrapes() -> Result<()> {
    for (close, want) in [(false, 1), (true, 4)] {
        let (addr, accepted) = counting_stats_server(close)?;
        let uri = format!("http://{addr}/;csv");
        let dir = PluginsDir::new(if close {
            "keepalive-close"
        } else {
            "keepalive"
        });
        dir.add("haproxy", "haproxy", Some(&haproxy_yml(&uri, &uri)));
        let e = Exporter::start(&dir.path, &[])?;
        for _ in 0..4 {
            let body = e.scrape_text()?;
            assert_eq!(sample(&body, "haproxy_up"), Some(1.0), "{body}");
            assert_eq!(
                sample(&body, "haproxy_backend_current_sessions{backend=\"app\"}"),
                Some(1.0)
            );
        }
        // One connection for four scrapes, unless the server closes each.
        assert_eq!(accepted.load(Ordering::SeqCst), want, "close: {close}");
    }
    Ok(())
}
