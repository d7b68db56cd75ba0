//! `ip_socket_config`: the exporter-toolkit's IP-layer socket options, and
//! the `--web.ipv4-ttl`, `--web.ipv6-hop-limit` and `--web.dscp` flags that
//! override them.
//!
//! ```yaml
//! ip_socket_config:
//!   ipv4_ttl: 2          # 1-255: packets die after two router hops
//!   ipv6_hop_limit: 2    # 1-255: the same for IPv6
//!   dscp: 46             # 0-63: the DSCP codepoint (46 is EF)
//! ```
//!
//! As in the toolkit (on Linux): the TTL and hop limit are set on the
//! listening socket, which accepted connections inherit; the DSCP codepoint
//! is not inherited, so it is set on every accepted connection (IPv4 ToS and
//! IPv6 traffic class, shifted into the upper six bits; the two ECN bits are
//! left to the kernel). On a dual-stack listener both families' options are
//! set; an option the socket's family does not have is skipped. DSCP 0 is a
//! value like any other: leave the key out to leave the kernel's default.
//! The options are read at start-up; changing them takes a restart.

use std::os::fd::AsFd;

use serde::Deserialize;

/// `ip_socket_config` as written; numbers are range-checked after parsing,
/// so that an out-of-range value is named rather than a type error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IpSocketFile {
    #[serde(default)]
    ipv4_ttl: Option<i64>,
    #[serde(default)]
    ipv6_hop_limit: Option<i64>,
    #[serde(default)]
    dscp: Option<i64>,
}

/// IP socket options for the listeners and their connections; `None`
/// leaves the kernel's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketOptions {
    /// IPv4 TTL of outgoing packets, 1-255.
    pub ipv4_ttl: Option<u8>,
    /// IPv6 unicast hop limit of outgoing packets, 1-255.
    pub ipv6_hop_limit: Option<u8>,
    /// DSCP codepoint of outgoing packets, 0-63.
    pub dscp: Option<u8>,
}

fn in_range(key: &str, value: Option<i64>, lo: i64, hi: i64) -> Result<Option<u8>, String> {
    match value {
        None => Ok(None),
        Some(v) if (lo..=hi).contains(&v) => Ok(u8::try_from(v).ok()),
        Some(v) => Err(format!(
            "ip_socket_config.{key}: {v} is out of range; valid: {lo}-{hi}"
        )),
    }
}

impl SocketOptions {
    /// Checks the file's values.
    pub(super) fn from_file(file: &IpSocketFile) -> Result<Self, String> {
        Ok(SocketOptions {
            ipv4_ttl: in_range("ipv4_ttl", file.ipv4_ttl, 1, 255)?,
            ipv6_hop_limit: in_range("ipv6_hop_limit", file.ipv6_hop_limit, 1, 255)?,
            dscp: in_range("dscp", file.dscp, 0, 63)?,
        })
    }

    /// These options, each replaced by the flag's where a flag is set (the
    /// flag wins, as in the toolkit).
    pub fn overridden_by(self, flags: SocketOptions) -> SocketOptions {
        SocketOptions {
            ipv4_ttl: flags.ipv4_ttl.or(self.ipv4_ttl),
            ipv6_hop_limit: flags.ipv6_hop_limit.or(self.ipv6_hop_limit),
            dscp: flags.dscp.or(self.dscp),
        }
    }

    /// Sets the TTL and hop limit on a listening socket.
    pub fn apply_to_listener(&self, socket: impl AsFd) -> std::io::Result<()> {
        use rustix::net::sockopt;
        let fd = socket.as_fd();
        if let Some(ttl) = self.ipv4_ttl {
            applicable(sockopt::set_ip_ttl(fd, u32::from(ttl)), "IP_TTL", ttl)?;
        }
        if let Some(hops) = self.ipv6_hop_limit {
            applicable(
                sockopt::set_ipv6_unicast_hops(fd, Some(hops)),
                "IPV6_UNICAST_HOPS",
                hops,
            )?;
        }
        Ok(())
    }

    /// Sets the DSCP codepoint on an accepted connection.
    pub fn apply_to_connection(&self, socket: impl AsFd) -> std::io::Result<()> {
        use rustix::net::sockopt;
        let Some(dscp) = self.dscp else {
            return Ok(());
        };
        let fd = socket.as_fd();
        let tos = dscp << 2;
        applicable(sockopt::set_ip_tos(fd, tos), "IP_TOS", tos)?;
        applicable(
            sockopt::set_ipv6_tclass(fd, u32::from(tos)),
            "IPV6_TCLASS",
            tos,
        )
    }
}

/// Skips an option the socket's address family does not have (an IPv6
/// option on an IPv4 socket); any other failure is an error naming it.
fn applicable(result: rustix::io::Result<()>, name: &str, value: u8) -> std::io::Result<()> {
    match result {
        Ok(()) | Err(rustix::io::Errno::NOPROTOOPT) => Ok(()),
        Err(e) => {
            let e = std::io::Error::from(e);
            Err(std::io::Error::new(
                e.kind(),
                format!("setsockopt {name}={value}: {e}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::sockopt;
    use std::net::{TcpListener, TcpStream};

    fn parse(yaml: &str) -> Result<SocketOptions, String> {
        let file: IpSocketFile = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        SocketOptions::from_file(&file)
    }

    #[test]
    fn the_toolkits_good_and_bad_files() {
        assert_eq!(
            parse("ipv4_ttl: 2\nipv6_hop_limit: 2\ndscp: 46\n"),
            Ok(SocketOptions {
                ipv4_ttl: Some(2),
                ipv6_hop_limit: Some(2),
                dscp: Some(46)
            })
        );
        assert_eq!(parse("dscp: 0\n").map(|o| o.dscp), Ok(Some(0)));
        for (yaml, want) in [
            (
                "ipv4_ttl: 256",
                "ip_socket_config.ipv4_ttl: 256 is out of range; valid: 1-255",
            ),
            ("ipv4_ttl: 0", "ipv4_ttl: 0 is out of range"),
            ("ipv6_hop_limit: 300", "ipv6_hop_limit: 300 is out of range"),
            (
                "dscp: 64",
                "ip_socket_config.dscp: 64 is out of range; valid: 0-63",
            ),
            ("dscp: -1", "dscp: -1 is out of range"),
        ] {
            let got = parse(yaml).unwrap_err();
            assert!(got.contains(want), "{yaml}: {got}");
        }
        assert!(parse("ttl: 2").unwrap_err().contains("unknown field"));
    }

    #[test]
    fn flags_win_over_the_file() {
        let file = SocketOptions {
            ipv4_ttl: Some(2),
            ipv6_hop_limit: Some(3),
            dscp: None,
        };
        let flags = SocketOptions {
            ipv4_ttl: Some(9),
            ipv6_hop_limit: None,
            dscp: Some(0),
        };
        assert_eq!(
            file.overridden_by(flags),
            SocketOptions {
                ipv4_ttl: Some(9),
                ipv6_hop_limit: Some(3),
                dscp: Some(0)
            }
        );
    }

    #[test]
    fn ttl_is_inherited_from_the_listener_and_dscp_set_per_connection() {
        let options = SocketOptions {
            ipv4_ttl: Some(3),
            ipv6_hop_limit: Some(4),
            dscp: Some(46),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        // The IPv6 hop limit does not apply to an IPv4 socket: skipped.
        options.apply_to_listener(&listener).unwrap();
        assert_eq!(sockopt::ip_ttl(&listener).unwrap(), 3);
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        options.apply_to_connection(&accepted).unwrap();
        assert_eq!(sockopt::ip_ttl(&accepted).unwrap(), 3);
        assert_eq!(sockopt::ip_tos(&accepted).unwrap() & 0xfc, 46 << 2);
        // Nothing is set on the client's side.
        assert_ne!(sockopt::ip_ttl(&client).unwrap(), 3);
    }

    #[test]
    fn a_dual_stack_listener_gets_both_families_options() {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            return; // no IPv6 on this machine; the IPv4 test above stands
        };
        let options = SocketOptions {
            ipv4_ttl: Some(2),
            ipv6_hop_limit: Some(5),
            dscp: Some(26),
        };
        options.apply_to_listener(&listener).unwrap();
        assert_eq!(sockopt::ipv6_unicast_hops(&listener).unwrap(), 5);
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        options.apply_to_connection(&accepted).unwrap();
        assert_eq!(sockopt::ipv6_unicast_hops(&accepted).unwrap(), 5);
        assert_eq!(sockopt::ipv6_tclass(&accepted).unwrap() & 0xfc, 26 << 2);
    }
}
