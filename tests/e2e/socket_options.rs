//! `ip_socket_config` and the `--web.ipv4-ttl` / `--web.dscp` flags through
//! the real binary: the options are read back from the exporter's own
//! listening and accepted sockets (copied out of the process with
//! `pidfd_getfd`, which a parent may do to its child).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;

use anyhow::{Context, Result};
use rustix::net::sockopt;
use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};

use crate::support::*;

/// The exporter's listening socket and its side of `client`'s connection.
fn exporter_sockets(pid: u32, client: &TcpStream) -> Result<(OwnedFd, OwnedFd)> {
    let pid = Pid::from_raw(i32::try_from(pid)?).context("pid 0")?;
    let pidfd = pidfd_open(pid, PidfdFlags::empty())?;
    let ours = client.local_addr()?;
    let (mut listener, mut accepted) = (None, None);
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let entry = entry?;
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        if !target.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let Ok(number) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(fd) = pidfd_getfd(&pidfd, number, PidfdGetfdFlags::empty()) else {
            continue;
        };
        if sockopt::socket_acceptconn(&fd).unwrap_or(false) {
            listener = Some(fd);
        } else if rustix::net::getpeername(&fd)
            .ok()
            .and_then(|a| a.and_then(|a| SocketAddr::try_from(a).ok()))
            == Some(ours)
        {
            accepted = Some(fd);
        }
    }
    Ok((
        listener.context("no listening socket")?,
        accepted.context("no accepted connection from the client")?,
    ))
}

/// A kept-alive connection that has been served once, so that the
/// exporter has accepted it and set its options.
fn served_connection(addr: &str) -> Result<TcpStream> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(format!("GET /-/healthy HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf)?;
    anyhow::ensure!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    Ok(stream)
}

#[test]
fn ip_socket_config_sets_ttl_on_the_listener_and_dscp_on_each_connection() -> Result<()> {
    let dir = PluginsDir::new("ip-socket");
    dir.write(
        "web.yml",
        b"ip_socket_config:\n  ipv4_ttl: 3\n  ipv6_hop_limit: 4\n  dscp: 46\n",
    );
    let web = dir.path.join("web.yml");
    let exporter = Exporter::start(&dir.path, &["--web.config.file", web.to_str().unwrap()])?;
    let client = served_connection(&exporter.addr)?;
    let (listener, accepted) = exporter_sockets(exporter.pid(), &client)?;
    assert_eq!(sockopt::ip_ttl(&listener)?, 3);
    assert_eq!(sockopt::ip_ttl(&accepted)?, 3, "not inherited");
    assert_eq!(sockopt::ip_tos(&accepted)? & 0xfc, 46 << 2);
    // The client's own socket is untouched: the options are the server's.
    assert_ne!(sockopt::ip_ttl(&client)?, 3);
    exporter.terminate()?;
    Ok(())
}

#[test]
fn flags_override_the_web_config_and_dscp_zero_is_set() -> Result<()> {
    let dir = PluginsDir::new("ip-socket-flags");
    dir.write("web.yml", b"ip_socket_config:\n  ipv4_ttl: 3\n  dscp: 46\n");
    let web = dir.path.join("web.yml");
    let exporter = Exporter::start(
        &dir.path,
        &[
            "--web.config.file",
            web.to_str().unwrap(),
            "--web.ipv4-ttl",
            "7",
            "--web.dscp",
            "0",
        ],
    )?;
    let client = served_connection(&exporter.addr)?;
    let (listener, accepted) = exporter_sockets(exporter.pid(), &client)?;
    assert_eq!(sockopt::ip_ttl(&listener)?, 7);
    assert_eq!(sockopt::ip_tos(&accepted)? & 0xfc, 0);
    exporter.terminate()?;
    Ok(())
}

#[test]
fn out_of_range_values_are_refused_at_start_naming_the_key() -> Result<()> {
    let dir = PluginsDir::new("ip-socket-bad");
    for (yaml, key) in [
        (
            "ip_socket_config:\n  ipv4_ttl: 256\n",
            "ip_socket_config.ipv4_ttl: 256",
        ),
        (
            "ip_socket_config:\n  dscp: 64\n",
            "ip_socket_config.dscp: 64",
        ),
        (
            "ip_socket_config:\n  dscp: -1\n",
            "ip_socket_config.dscp: -1",
        ),
    ] {
        dir.write("web.yml", yaml.as_bytes());
        let web = dir.path.join("web.yml");
        let stderr = start_refused(&dir.path, &["--web.config.file", web.to_str().unwrap()])?;
        assert!(stderr.contains(key), "{yaml}: {stderr}");
    }
    let stderr = start_refused(&dir.path, &["--web.dscp", "64"])?;
    assert!(stderr.contains("--web.dscp"), "{stderr}");
    // The toolkit's environment variables stand for the flags.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasm_exporter"))
        .env("WEB_IPV4_TTL", "0")
        .args(["--web.listen-address", "127.0.0.1:0", "--plugins.dir"])
        .arg(&dir.path)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started with WEB_IPV4_TTL=0");
    assert!(stderr.contains("--web.ipv4-ttl"), "{stderr}");
    Ok(())
}
