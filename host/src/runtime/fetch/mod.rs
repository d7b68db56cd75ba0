//! The `fetch` capability: outbound HTTP(S), unix-socket and TCP requests on a
//! plugin's behalf, each checked against the plugin's grants first.
//! Rooms: [`grants`] (what may be fetched), [`credentials`] (what the host
//! adds to a granted request, and scrubs from its answer), `http` (HTTP(S)
//! with keep-alive), `socket` (unix and TCP), `tls` (the client's TLS).
//!
//! Every failure is an ordinary [`FetchError`] value for the plugin, never a
//! trap. Failures are counted and logged once per distinct error.

pub mod context;
pub mod credentials;
mod grants;
mod http;
mod socket;
mod tls;

use std::time::{Duration, Instant};

use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use tracing::Level;
use url::Url;

use super::host::LogBudget;
pub use crate::fetch_spec::{FetchGrant, FetchGrantSpec};
pub use context::{FetchContext, FetchStats, SharedFetchStats, Standins};
pub use grants::Grants;
use grants::{Target, parse_target};
pub use http::IdleConnection;

/// One request of a plugin, in the host's words (each contract version's
/// file maps its own record onto this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `http(s)://...`, `unix:/path` or `tcp://host:port`.
    pub target: String,
    /// The HTTP method; `GET` when none.
    pub method: Option<String>,
    /// HTTP headers, as the plugin gave them.
    pub headers: Vec<(String, String)>,
    /// The HTTP body, or what is written to a socket before reading.
    pub body: Option<Vec<u8>>,
    /// For `https`: whether the server's certificate is verified.
    pub tls_verify: bool,
    /// The plugin's own timeout, within its call's deadline.
    pub timeout_ms: Option<u32>,
    /// Follow redirects to granted targets.
    pub follow_redirects: bool,
    /// Sockets: stop reading once the data ends with these bytes.
    pub read_until: Option<Vec<u8>>,
    /// Stop reading after this many bytes, with `truncated` set.
    pub max_bytes: Option<u64>,
}

impl Request {
    /// A GET of `target` (or a socket read), verifying TLS, without a
    /// timeout, body or bound of its own.
    pub fn new(target: String) -> Self {
        Request {
            target,
            method: None,
            headers: Vec::new(),
            body: None,
            tls_verify: true,
            timeout_ms: None,
            follow_redirects: false,
            read_until: None,
            max_bytes: None,
        }
    }
}

/// What a target answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status; 0 for a socket.
    pub status: u16,
    /// HTTP response headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, within the plugin's `max_response_bytes`.
    pub body: Vec<u8>,
    /// Whether the request's `max_bytes` cut the body short.
    pub truncated: bool,
}

/// Redirects followed at most, as Go's `http.Client`.
pub const MAX_REDIRECTS: usize = 10;

/// Why a fetch gave no answer; the plugin gets it as a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The target is outside the plugin's `grants.fetch`.
    #[error("denied: {0}")]
    Denied(String),
    /// The target is not one `fetch` can reach.
    #[error("invalid target: {0}")]
    InvalidTarget(String),
    /// Connecting failed.
    #[error("connect: {0}")]
    Connect(String),
    /// The deadline passed.
    #[error("timeout")]
    Timeout,
    /// The answer was larger than this many bytes.
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
    /// The target broke the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
}

impl FetchContext {
    /// Performs `req` for `plugin`, finishing by `deadline`.
    pub async fn fetch(
        &self,
        plugin: &str,
        req: Request,
        deadline: Instant,
        log: &mut LogBudget,
    ) -> Result<Response, FetchError> {
        let target_text = req.target.clone();
        // A zero timeout asks only whether the grants allow the target
        // (see `perform`): the plugin acts on the answer; nothing failed.
        let grants_check = req.timeout_ms == Some(0);
        let result = self.perform(req, deadline).await;
        if grants_check {
            return result;
        }
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(_) => {
                stats.logged.clear();
                stats.last_failure = None;
            }
            Err(e) => {
                if matches!(e, FetchError::Denied(_)) {
                    stats.denied += 1;
                } else {
                    stats.failed += 1;
                }
                let message = format!("{}: {}", redact(&target_text), e);
                stats.last_failure = Some(message.clone());
                if stats.log_once(&message) {
                    log.write(plugin, Level::WARN, format!("fetch failed: {message}"));
                }
            }
        }
        result
    }

    async fn perform(&self, req: Request, deadline: Instant) -> Result<Response, FetchError> {
        let target = parse_target(&req.target).map_err(FetchError::InvalidTarget)?;
        if let Some(answer) = self.standins.0.get(&req.target) {
            return match req.timeout_ms {
                Some(0) => Err(FetchError::Timeout),
                _ => Ok(answer.clone()),
            };
        }
        if !self.grants.allows(&target) {
            return Err(FetchError::Denied(format!(
                "{} is not in the plugin's grants.fetch",
                redact(&req.target)
            )));
        }
        let mut end = deadline;
        if let Some(ms) = req.timeout_ms {
            end = end.min(Instant::now() + Duration::from_millis(u64::from(ms)));
        }
        // Out of time before anything is sent: nothing is. A plugin asks
        // whether its grants allow a target, without reaching it, this way
        // (a zero timeout: `denied`, or `timeout` when granted).
        if end <= Instant::now() {
            return Err(FetchError::Timeout);
        }
        let cap = self.max_response_bytes;
        let work = async {
            match target {
                Target::Http(url) => self.http(url, req, cap).await,
                Target::Unix(path) => {
                    let stream = tokio::net::UnixStream::connect(&path)
                        .await
                        .map_err(|e| FetchError::Connect(format!("{}: {e}", path.display())))?;
                    socket::exchange(stream, req.body.as_deref(), bound(&req, cap)).await
                }
                Target::Tcp(host, port) => {
                    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
                        .await
                        .map_err(|e| FetchError::Connect(format!("{host}:{port}: {e}")))?;
                    socket::exchange(stream, req.body.as_deref(), bound(&req, cap)).await
                }
            }
        };
        tokio::time::timeout_at(tokio::time::Instant::from_std(end), work)
            .await
            .unwrap_or(Err(FetchError::Timeout))
    }

    /// An HTTP request, its redirects followed within the grants when the
    /// plugin asks, each hop with its own grant's credentials; the answer
    /// scrubbed of every secret sent on the way.
    async fn http(&self, first: Url, req: Request, cap: usize) -> Result<Response, FetchError> {
        let mut method = match req.method.as_deref() {
            None => hyper::Method::GET,
            Some(m) => hyper::Method::from_bytes(m.as_bytes())
                .ok()
                .filter(|m| *m != hyper::Method::CONNECT)
                .ok_or_else(|| FetchError::InvalidTarget(format!("method {m:?}")))?,
        };
        let mut own = plugin_headers(&req.headers)?;
        let mut body = Bytes::from(req.body.unwrap_or_default());
        let mut url = first;
        let mut secrets = Vec::new();
        for _ in 0..=MAX_REDIRECTS {
            let target = Target::Http(url.clone());
            let Some((index, grant)) = self.grants.find(&target) else {
                return Err(FetchError::Denied(format!(
                    "{} is not in the plugin's grants.fetch",
                    redact(url.as_str())
                )));
            };
            let added = match &grant.credentials {
                Some(c) => c.added()?,
                None => credentials::Added::default(),
            };
            let mut headers: Vec<_> = own
                .iter()
                .filter(|(n, _)| !added.headers.iter().any(|(a, _)| a == n))
                .cloned()
                .collect();
            headers.extend(added.headers);
            secrets.extend(added.secrets);
            let grant_tls = grant.credentials.as_ref().and_then(|c| c.tls.as_ref());
            let verify = req.tls_verify && !grant_tls.is_some_and(|t| t.insecure);
            let tls = match grant_tls {
                Some(t) => http::Tls {
                    config: Arc::clone(if verify { &t.verified } else { &t.unverified }),
                    server_name: t.server_name.clone(),
                },
                None => http::Tls {
                    config: tls::tls_config(verify),
                    server_name: None,
                },
            };
            let exchange = http::Exchange {
                method: method.clone(),
                url: &url,
                headers: &headers,
                body: body.clone(),
                tls,
                verify,
                grant: Some(index),
                cap,
                max_bytes: req.max_bytes,
            };
            let mut response = http::request(&self.idle, &exchange).await?;
            let next = redirect(&response, &url).filter(|next| {
                req.follow_redirects && self.grants.allows(&Target::Http(next.clone()))
            });
            let Some(next) = next else {
                scrub(&mut response, &secrets);
                return Ok(response);
            };
            // As Go's http.Client and browsers do: the plugin's own
            // credentials do not follow a redirect to another host.
            if next.host_str() != url.host_str()
                || next.port_or_known_default() != url.port_or_known_default()
            {
                own.retain(|(n, _)| {
                    *n != hyper::header::AUTHORIZATION && *n != hyper::header::COOKIE
                });
            }
            if response.status == 303
                || (matches!(response.status, 301 | 302) && method == hyper::Method::POST)
            {
                method = hyper::Method::GET;
                body = Bytes::new();
                own.retain(|(n, _)| *n != hyper::header::CONTENT_TYPE);
            }
            url = next;
        }
        Err(FetchError::Protocol(format!(
            "stopped after {MAX_REDIRECTS} redirects"
        )))
    }
}

/// The plugin's headers, checked; those the host sets are left out.
fn plugin_headers(
    given: &[(String, String)],
) -> Result<Vec<(HeaderName, HeaderValue)>, FetchError> {
    let mut out = Vec::with_capacity(given.len());
    for (name, value) in given {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| FetchError::InvalidTarget(format!("header name {name:?}")))?;
        let v = HeaderValue::from_str(value)
            .map_err(|_| FetchError::InvalidTarget(format!("value of header {name}")))?;
        if !http::HOST_SET.contains(&n) {
            out.push((n, v));
        }
    }
    Ok(out)
}

/// Where a 3xx response sends the client, if it is an HTTP(S) URL.
fn redirect(response: &Response, from: &Url) -> Option<Url> {
    if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response
        .headers
        .iter()
        .find(|(n, _)| n == "location")
        .map(|(_, v)| v.as_str())?;
    from.join(location)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// Removes every secret sent from the response: header values, the body,
/// and any `authorization` header it reflects.
fn scrub(response: &mut Response, secrets: &[Vec<u8>]) {
    if secrets.is_empty() {
        return;
    }
    response
        .headers
        .retain(|(n, _)| n != "authorization" && n != "proxy-authorization");
    for (_, value) in &mut response.headers {
        let mut bytes = std::mem::take(value).into_bytes();
        credentials::scrub(&mut bytes, secrets);
        *value = String::from_utf8_lossy(&bytes).into_owned();
    }
    credentials::scrub(&mut response.body, secrets);
}

/// The read bound of a socket request.
fn bound(req: &Request, cap: usize) -> socket::Bound<'_> {
    socket::Bound {
        until: req.read_until.as_deref(),
        max_bytes: req.max_bytes,
        cap,
    }
}

/// The target with any password replaced, for logs and errors.
fn redact(target: &str) -> String {
    match Url::parse(target) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("xxxxx"));
            url.to_string()
        }
        _ => target.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_out_of_time_is_checked_against_the_grants_and_never_sent() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let granted = format!("tcp://127.0.0.1:{port}");
        let ctx = FetchContext {
            grants: Arc::new(Grants::parse(&[FetchGrant::from(granted.as_str())]).unwrap()),
            ..FetchContext::deny_all()
        };
        let request = |target: &str| Request {
            body: Some(b"show stat\n".to_vec()),
            timeout_ms: Some(0),
            ..Request::new(target.to_owned())
        };
        let far = Instant::now() + Duration::from_secs(10);
        let mut log = LogBudget::new(1 << 10);
        let answer = ctx.fetch("p", request(&granted), far, &mut log).await;
        assert!(matches!(answer, Err(FetchError::Timeout)), "{answer:?}");
        let denied = ctx
            .fetch("p", request("tcp://127.0.0.1:1"), far, &mut log)
            .await;
        assert!(matches!(denied, Err(FetchError::Denied(_))), "{denied:?}");
        // Nobody connected to the granted listener.
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "a connection was made");
    }

    /// A loopback server: `/hop` redirects to `/end` (granted), `/cross` to
    /// `/end` under another host name (`localhost`), `/away` to a port
    /// nobody granted; `/end` echoes the `Authorization` it got, in its body
    /// and headers.
    fn redirecting_server() -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut first, mut auth) = (String::new(), String::new());
                reader.read_line(&mut first).unwrap();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("authorization: ") {
                        auth = v.trim().to_owned();
                    }
                }
                let path = first.split_whitespace().nth(1).unwrap_or("").to_owned();
                let (status, extra, body) = match path.as_str() {
                    "/hop" => ("302 Found", "Location: /end\r\n".to_owned(), String::new()),
                    "/cross" => (
                        "302 Found",
                        format!("Location: http://localhost:{port}/end\r\n"),
                        String::new(),
                    ),
                    "/away" => (
                        "307 Temporary Redirect",
                        "Location: http://127.0.0.1:9/x\r\n".to_owned(),
                        String::new(),
                    ),
                    _ => (
                        "200 OK",
                        format!("X-Seen: {auth}\r\nAuthorization: {auth}\r\n"),
                        auth,
                    ),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        addr
    }

    #[tokio::test]
    async fn redirects_are_followed_within_the_grants_with_secrets_scrubbed() {
        let addr = redirecting_server();
        let dir = std::env::temp_dir().join(format!("wx-redirect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), "t0ken-value").unwrap();
        let grant = FetchGrant(FetchGrantSpec {
            target: format!("http://{addr}/*"),
            authorization: Some(crate::fetch_spec::AuthorizationSpec {
                kind: "Bearer".into(),
                credentials_file: dir.join("token"),
            }),
            ..FetchGrantSpec::default()
        });
        let port = addr.rsplit(':').next().unwrap();
        let other = FetchGrant::from(format!("http://localhost:{port}/*").as_str());
        let ctx = FetchContext {
            grants: Arc::new(Grants::parse(&[grant, other]).unwrap()),
            ..FetchContext::deny_all()
        };
        let far = Instant::now() + Duration::from_secs(10);
        let mut log = LogBudget::new(1 << 10);
        let get = |path: &str, follow: bool| Request {
            follow_redirects: follow,
            headers: vec![("Authorization".into(), "Bearer the-plugin's".into())],
            ..Request::new(format!("http://{addr}{path}"))
        };
        // Not asked to follow: the 302 itself.
        let r = ctx
            .fetch("p", get("/hop", false), far, &mut log)
            .await
            .unwrap();
        assert_eq!(r.status, 302);
        // Followed to /end, granted: the grant's token replaced the
        // plugin's, and what the server echoed of it is scrubbed.
        let r = ctx
            .fetch("p", get("/hop", true), far, &mut log)
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"<secret>");
        let header = |n: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("x-seen").as_deref(), Some("<secret>"));
        assert_eq!(header("authorization"), None);
        // Followed to another host (granted, without credentials): neither
        // the grant's token nor the plugin's own goes along.
        let r = ctx
            .fetch("p", get("/cross", true), far, &mut log)
            .await
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b""[..]));
        // A redirect out of the grants comes back as it is.
        let r = ctx
            .fetch("p", get("/away", true), far, &mut log)
            .await
            .unwrap();
        assert_eq!(r.status, 307);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("http://u:secret@h/p"), "http://u:xxxxx@h/p");
        assert_eq!(redact("unix:/s"), "unix:/s");
    }
}
