//! What a plugin may fetch: its `grants.fetch`, parsed once at load.
//!
//! Grants deny by default. A grant is one of:
//! - an `http://` or `https://` URL pattern: the scheme must match exactly;
//!   the host, the port and the path (with its query) must match the
//!   pattern's, where `*` stands for any run of characters: in the host
//!   (`*.lb.example.com`, any host under that domain; `*`, any host), as
//!   the whole port (`:*`, any port; a port left out is the scheme's) and in
//!   the path (`http://127.0.0.1:8404/*`);
//! - `unix:/path/to/socket`: that socket path, exactly;
//! - `tcp://host:port`: that host and port, with the same patterns.
//!
//! An entry may also be a mapping, `target:` (one of the above) with the
//! credentials the host adds to the requests it allows (`credentials`).

use std::path::{Component, Path, PathBuf};

use url::Url;

use super::credentials::Credentials;
use crate::fetch_spec::FetchGrant;

/// One grant: what it allows, and its credentials.
#[derive(Debug, Clone)]
pub(super) struct Grant {
    what: Allowed,
    /// Added to every request it allows.
    pub credentials: Option<Credentials>,
}

/// What one grant allows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    Http {
        scheme: String,
        host: String,
        port: Port,
        path: String,
    },
    Unix(PathBuf),
    Tcp(String, Port),
}

/// The port of a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Any,
    Exactly(u16),
}

impl Port {
    fn matches(self, port: Option<u16>) -> bool {
        match self {
            Port::Any => port.is_some(),
            Port::Exactly(p) => port == Some(p),
        }
    }
}

/// A host pattern and port of a grant's authority (`host:port`,
/// `[v6]:port`, `*.example.com:*`); the port is `default` when left out.
fn parse_authority(
    spec: &str,
    authority: &str,
    default: Option<u16>,
) -> Result<(String, Port), String> {
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => (h, Some(p)),
        _ => (authority, None),
    };
    let port = match port {
        Some("*") => Port::Any,
        Some(p) => Port::Exactly(
            p.parse()
                .map_err(|_| format!("grant {spec:?}: bad port {p:?}"))?,
        ),
        None => Port::Exactly(default.ok_or_else(|| format!("grant {spec:?}: no port"))?),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*' | ':');
    if host.is_empty() || !host.chars().all(legal) {
        return Err(format!("grant {spec:?}: bad host pattern {host:?}"));
    }
    Ok((host, port))
}

/// A grant with `*` in its host or port, which no URL parser takes.
fn parse_pattern(spec: &str) -> Result<Option<Allowed>, String> {
    let (scheme, rest) = match spec.split_once("://") {
        Some((s @ ("http" | "https" | "tcp"), rest)) => (s, rest),
        _ => return Ok(None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if !authority.contains('*') {
        return Ok(None);
    }
    if authority.contains('@') {
        return Err(format!("grant {spec:?}: no user info in a grant"));
    }
    let default = match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let (host, port) = parse_authority(spec, authority, default)?;
    Ok(Some(if scheme == "tcp" {
        Allowed::Tcp(host, port)
    } else {
        Allowed::Http {
            scheme: scheme.to_owned(),
            host,
            port,
            path: path.to_owned(),
        }
    }))
}

/// What a plugin may reach.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    grants: Vec<Grant>,
}

/// A parsed request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    Http(Url),
    Unix(PathBuf),
    Tcp(String, u16),
}

fn parse_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), port.parse().ok()?))
}

/// Lexically normal: absolute and without `.` or `..` components.
fn clean_socket_path(s: &str) -> Option<PathBuf> {
    let path = Path::new(s);
    let normal = path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    normal.then(|| path.to_owned())
}

pub(super) fn parse_target(s: &str) -> Result<Target, String> {
    if let Some(path) = s.strip_prefix("unix:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        return clean_socket_path(path).map(Target::Unix).ok_or_else(|| {
            format!("{s:?}: a unix socket must be an absolute path without . or ..")
        });
    }
    if let Some(rest) = s.strip_prefix("tcp://") {
        let rest = rest.trim_end_matches('/');
        return parse_host_port(rest)
            .map(|(h, p)| Target::Tcp(h, p))
            .ok_or_else(|| format!("{s:?}: use tcp://host:port"));
    }
    let url = Url::parse(s).map_err(|e| format!("{s:?}: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(Target::Http(url)),
        "http" | "https" => Err(format!("{s:?}: no host")),
        other => Err(format!(
            "{s:?}: unsupported scheme {other:?} (use http, https, unix: or tcp://)"
        )),
    }
}

pub(super) fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// `*` matches any run of characters; everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

impl Grants {
    /// Parses the `grants.fetch` list of a manifest, reading and checking
    /// the credentials' files.
    pub fn parse(specs: &[FetchGrant]) -> Result<Self, String> {
        let mut grants = Vec::with_capacity(specs.len());
        for FetchGrant(entry) in specs {
            let spec = entry.target.as_str();
            let what = match parse_pattern(spec)? {
                Some(pattern) => pattern,
                None => match parse_target(spec).map_err(|e| format!("grant {e}"))? {
                    Target::Http(url) => Allowed::Http {
                        scheme: url.scheme().to_owned(),
                        host: url
                            .host_str()
                            .unwrap_or("")
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .to_ascii_lowercase(),
                        port: Port::Exactly(url.port_or_known_default().unwrap_or(0)),
                        path: path_and_query(&url),
                    },
                    Target::Unix(p) => Allowed::Unix(p),
                    Target::Tcp(h, p) => Allowed::Tcp(h, Port::Exactly(p)),
                },
            };
            let credentials = if entry.has_credentials() {
                if !matches!(what, Allowed::Http { .. }) {
                    return Err(format!(
                        "grant {spec:?}: credentials are for http(s) targets only"
                    ));
                }
                Some(Credentials::load(entry)?)
            } else {
                None
            };
            grants.push(Grant { what, credentials });
        }
        Ok(Grants { grants })
    }

    /// Whether `target` (as a plugin would pass it to `fetch`) is inside
    /// these grants; an error when it is no target at all.
    pub fn permits(&self, target: &str) -> Result<bool, String> {
        parse_target(target).map(|t| self.allows(&t))
    }

    pub(super) fn allows(&self, target: &Target) -> bool {
        self.find(target).is_some()
    }

    /// The first grant that allows `target`, and its position (which
    /// tells connections made under different grants apart).
    pub(super) fn find(&self, target: &Target) -> Option<(usize, &Grant)> {
        self.grants
            .iter()
            .enumerate()
            .find(|(_, g)| g.what.allows(target))
    }

    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }
}

impl Allowed {
    fn allows(&self, target: &Target) -> bool {
        match (self, target) {
            (
                Allowed::Http {
                    scheme,
                    host,
                    port,
                    path,
                },
                Target::Http(url),
            ) => {
                url.scheme() == scheme
                    && url.host_str().is_some_and(|h| {
                        let h = h.trim_start_matches('[').trim_end_matches(']');
                        glob(host, &h.to_ascii_lowercase())
                    })
                    && port.matches(url.port_or_known_default())
                    && glob(path, &path_and_query(url))
            }
            (Allowed::Unix(granted), Target::Unix(asked)) => granted == asked,
            (Allowed::Tcp(h, p), Target::Tcp(host, port)) => {
                glob(h, &host.to_ascii_lowercase()) && p.matches(Some(*port))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(specs: &[&str]) -> Grants {
        Grants::parse(
            &specs
                .iter()
                .map(|s| FetchGrant::from(*s))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default()
    }

    fn allowed(g: &Grants, target: &str) -> bool {
        parse_target(target).is_ok_and(|t| g.allows(&t))
    }

    #[test]
    fn http_grants_match_scheme_host_port_and_path() {
        let g = grants(&[
            "http://127.0.0.1:8404/stats;csv",
            "https://lb.example.com/haproxy/*",
        ]);
        assert!(allowed(&g, "http://127.0.0.1:8404/stats;csv"));
        assert!(allowed(&g, "http://user:pw@127.0.0.1:8404/stats;csv"));
        assert!(!allowed(&g, "http://127.0.0.1:8405/stats;csv"));
        assert!(!allowed(&g, "https://127.0.0.1:8404/stats;csv"));
        assert!(!allowed(&g, "http://127.0.0.1:8404/stats"));
        assert!(!allowed(&g, "http://127.0.0.1:8404/stats;csv/more"));
        assert!(allowed(&g, "https://LB.example.com:443/haproxy/;csv"));
        assert!(allowed(&g, "https://lb.example.com/haproxy/a/b?x=1"));
        assert!(!allowed(&g, "http://lb.example.com/haproxy/"));
        // Userinfo tricks do not change the host.
        assert!(!allowed(&g, "http://127.0.0.1:8404@evil.example/stats;csv"));
        assert!(!allowed(&g, "https://lb.example.com.evil.example/haproxy/"));
    }

    #[test]
    fn host_and_port_patterns() {
        let g = grants(&[
            "http://*.lb.example.com:8404/stats;csv",
            "https://*:*/metrics",
            "tcp://*.db.example.com:*",
        ]);
        // Any host under the domain, on that port and path only.
        assert!(allowed(&g, "http://a.lb.example.com:8404/stats;csv"));
        assert!(allowed(&g, "http://A.B.LB.example.com:8404/stats;csv"));
        assert!(!allowed(&g, "http://lb.example.com:8404/stats;csv"));
        assert!(!allowed(&g, "http://evil-lb.example.com:8404/stats;csv"));
        assert!(!allowed(
            &g,
            "http://a.lb.example.com.evil.example:8404/stats;csv"
        ));
        assert!(!allowed(&g, "http://a.lb.example.com:8405/stats;csv"));
        assert!(!allowed(&g, "http://a.lb.example.com/stats;csv"));
        assert!(!allowed(&g, "https://a.lb.example.com:8404/stats;csv"));
        assert!(!allowed(&g, "http://a.lb.example.com:8404/other"));
        assert!(!allowed(
            &g,
            "http://a.lb.example.com:8404@evil.example:8404/stats;csv"
        ));
        // Any host and port, one path.
        assert!(allowed(&g, "https://10.0.0.1:9000/metrics"));
        assert!(allowed(&g, "https://[::1]:9000/metrics"));
        assert!(allowed(&g, "https://x.example/metrics"));
        assert!(!allowed(&g, "http://x.example/metrics"));
        assert!(!allowed(&g, "https://x.example/metrics/more"));
        assert!(allowed(&g, "tcp://pg.db.example.com:5432"));
        assert!(!allowed(&g, "tcp://db.example.com:5432"));
        assert!(!allowed(&g, "unix:/run/a.sock"));
        assert_eq!(
            g.permits("not a target"),
            Err("\"not a target\": relative URL without a base".to_owned())
        );
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "http://*.example.com:80x/",
            "http://user@*.example.com/",
            "http://*.exa mple.com/",
            "tcp://*.example.com",
        ] {
            assert!(Grants::parse(&[FetchGrant::from(bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn socket_grants_are_exact() {
        let g = grants(&["unix:/run/haproxy/admin.sock", "tcp://127.0.0.1:9999"]);
        assert!(allowed(&g, "unix:/run/haproxy/admin.sock"));
        assert!(!allowed(&g, "unix:/run/haproxy/../haproxy/admin.sock"));
        assert!(!allowed(&g, "unix:/run/haproxy/other.sock"));
        assert!(allowed(&g, "tcp://127.0.0.1:9999"));
        assert!(!allowed(&g, "tcp://127.0.0.1:9998"));
        assert!(!allowed(&g, "http://127.0.0.1:9999/"));
        assert!(!allowed(&Grants::default(), "http://127.0.0.1/"));
    }

    #[test]
    fn bad_grants_and_targets_are_refused() {
        for bad in ["ftp://x/", "unix:relative.sock", "tcp://nohost"] {
            assert!(Grants::parse(&[FetchGrant::from(bad)]).is_err(), "{bad}");
        }
        assert!(parse_target("file:///etc/passwd").is_err());
        assert!(parse_target("http://").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob("/a/*", "/a/b/c"));
        assert!(glob("*", ""));
        assert!(glob("/a*c", "/abc"));
        assert!(!glob("/a*c", "/abd"));
        assert!(glob("/x*y*z", "/x1y2z"));
        assert!(!glob("/x*y*z", "/x1z"));
        assert!(!glob("/ab*ba", "/aba"));
    }
}
