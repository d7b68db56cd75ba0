//! The `fetch` capability: outbound HTTP(S), unix-socket and TCP requests on a
//! plugin's behalf, each checked against the plugin's grants first.
//!
//! Grants deny by default. A grant is one of:
//! - an `http://` or `https://` URL pattern: scheme, host and port must
//!   match exactly, and the path (with its query) must match the pattern's,
//!   where `*` stands for any run of characters (`http://127.0.0.1:8404/*`);
//! - `unix:/path/to/socket`: that socket path, exactly;
//! - `tcp://host:port`: that host and port, exactly.
//!
//! Every failure is an ordinary [`FetchError`] value for the plugin, never a
//! trap. Failures are counted and logged once per distinct error.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Body as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use url::Url;

use super::bindings::fetch::{FetchError, Request, Response};

pub use crate::config::DEFAULT_MAX_RESPONSE_BYTES;

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Grant {
    Http {
        scheme: String,
        host: String,
        port: u16,
        path: String,
    },
    Unix(PathBuf),
    Tcp(String, u16),
}

/// What a plugin may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    grants: Vec<Grant>,
}

/// A parsed request target.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
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

fn parse_target(s: &str) -> Result<Target, String> {
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

fn path_and_query(url: &Url) -> String {
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
    /// Parses the `grants.fetch` list of a manifest.
    pub fn parse(specs: &[String]) -> Result<Self, String> {
        let mut grants = Vec::with_capacity(specs.len());
        for spec in specs {
            let grant = match parse_target(spec).map_err(|e| format!("grant {e}"))? {
                Target::Http(url) => Grant::Http {
                    scheme: url.scheme().to_owned(),
                    host: url.host_str().unwrap_or("").to_ascii_lowercase(),
                    port: url.port_or_known_default().unwrap_or(0),
                    path: path_and_query(&url),
                },
                Target::Unix(p) => Grant::Unix(p),
                Target::Tcp(h, p) => Grant::Tcp(h, p),
            };
            grants.push(grant);
        }
        Ok(Grants { grants })
    }

    fn allows(&self, target: &Target) -> bool {
        self.grants.iter().any(|g| match (g, target) {
            (
                Grant::Http {
                    scheme,
                    host,
                    port,
                    path,
                },
                Target::Http(url),
            ) => {
                url.scheme() == scheme
                    && url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host))
                    && url.port_or_known_default() == Some(*port)
                    && glob(path, &path_and_query(url))
            }
            (Grant::Unix(granted), Target::Unix(asked)) => granted == asked,
            (Grant::Tcp(h, p), Target::Tcp(host, port)) => h == host && p == port,
            _ => false,
        })
    }

    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }
}

/// Fetch failures of one plugin, shared with its status.
#[derive(Debug, Default)]
pub struct FetchStats {
    /// Requests refused by the grants.
    pub denied: u64,
    /// Requests that failed otherwise.
    pub failed: u64,
    /// The last error logged, so that a repeated failure is logged once.
    last_logged: Option<String>,
}

/// Shared handle on [`FetchStats`].
pub type SharedFetchStats = Arc<Mutex<FetchStats>>;

/// What a plugin's store needs to serve `fetch`.
#[derive(Debug, Clone)]
pub struct FetchContext {
    /// The plugin's grants.
    pub grants: Arc<Grants>,
    /// Response size cap in bytes.
    pub max_response_bytes: usize,
    /// Failure counters, shared with the plugin's status.
    pub stats: SharedFetchStats,
    /// One kept-alive HTTP connection, reused by the next scrape of the
    /// same target (as Go's http.Client does for haproxy_exporter).
    pub idle: Arc<Mutex<Option<IdleConnection>>>,
}

/// An HTTP/1.1 connection left open after a complete response.
#[derive(Debug)]
pub struct IdleConnection {
    /// Scheme, host, port and TLS verification of the target.
    key: (String, String, u16, bool),
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    driver: tokio::task::AbortHandle,
}

impl Drop for IdleConnection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl FetchContext {
    /// A context that grants nothing.
    pub fn deny_all() -> Self {
        FetchContext {
            grants: Arc::new(Grants::default()),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            stats: SharedFetchStats::default(),
            idle: Arc::default(),
        }
    }

    /// Performs `req` for `plugin`, finishing by `deadline`.
    pub async fn fetch(
        &self,
        plugin: &str,
        req: Request,
        deadline: Instant,
    ) -> Result<Response, FetchError> {
        let target_text = req.target.clone();
        let result = self.perform(req, deadline).await;
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(_) => stats.last_logged = None,
            Err(e) => {
                if matches!(e, FetchError::Denied(_)) {
                    stats.denied += 1;
                } else {
                    stats.failed += 1;
                }
                let message = format!("{}: {}", redact(&target_text), describe(e));
                if stats.last_logged.as_deref() != Some(&message) {
                    tracing::warn!(plugin, "fetch failed: {message}");
                    stats.last_logged = Some(message);
                }
            }
        }
        result
    }

    async fn perform(&self, req: Request, deadline: Instant) -> Result<Response, FetchError> {
        let target = parse_target(&req.target).map_err(FetchError::InvalidTarget)?;
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
        let cap = self.max_response_bytes;
        let work = async {
            match target {
                Target::Http(url) => http_get(&self.idle, url, req.tls_verify, cap).await,
                Target::Unix(path) => {
                    let stream = tokio::net::UnixStream::connect(&path)
                        .await
                        .map_err(|e| FetchError::Connect(format!("{}: {e}", path.display())))?;
                    exchange(stream, req.command.as_deref(), cap).await
                }
                Target::Tcp(host, port) => {
                    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
                        .await
                        .map_err(|e| FetchError::Connect(format!("{host}:{port}: {e}")))?;
                    exchange(stream, req.command.as_deref(), cap).await
                }
            }
        };
        tokio::time::timeout_at(tokio::time::Instant::from_std(end), work)
            .await
            .unwrap_or(Err(FetchError::Timeout))
    }
}

/// A one-line description for the log.
pub fn describe(e: &FetchError) -> String {
    match e {
        FetchError::Denied(m) => format!("denied: {m}"),
        FetchError::InvalidTarget(m) => format!("invalid target: {m}"),
        FetchError::Connect(m) => format!("connect: {m}"),
        FetchError::Timeout => "timeout".to_owned(),
        FetchError::TooLarge(n) => format!("response larger than {n} bytes"),
        FetchError::Protocol(m) => format!("protocol: {m}"),
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

/// Writes `command` (if any), closes our side, and reads until EOF.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    command: Option<&str>,
    cap: usize,
) -> Result<Response, FetchError> {
    let broken = |e: std::io::Error| FetchError::Protocol(e.to_string());
    if let Some(cmd) = command {
        stream.write_all(cmd.as_bytes()).await.map_err(broken)?;
    }
    stream.flush().await.map_err(broken)?;
    // Half-close, as haproxy_exporter does: HAProxy answers and closes.
    stream.shutdown().await.map_err(broken)?;
    let mut body = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = stream.read(&mut chunk).await.map_err(broken)?;
        if n == 0 {
            break;
        }
        if body.len() + n > cap {
            return Err(FetchError::TooLarge(cap as u64));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Response { status: 0, body })
}

fn tls_config(verify: bool) -> Arc<rustls::ClientConfig> {
    static VERIFIED: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    static UNVERIFIED: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let provider = || Arc::new(rustls::crypto::ring::default_provider());
    if verify {
        VERIFIED
            .get_or_init(|| {
                let roots = rustls::RootCertStore::from_iter(
                    webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
                );
                let config = rustls::ClientConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()
                    .map(|b| b.with_root_certificates(roots).with_no_client_auth());
                Arc::new(config.unwrap_or_else(|_| empty_config()))
            })
            .clone()
    } else {
        UNVERIFIED
            .get_or_init(|| {
                let config = rustls::ClientConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()
                    .map(|b| {
                        b.dangerous()
                            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
                            .with_no_client_auth()
                    });
                Arc::new(config.unwrap_or_else(|_| empty_config()))
            })
            .clone()
    }
}

/// A config that trusts nothing; only used if the provider cannot be set up.
fn empty_config() -> rustls::ClientConfig {
    rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

/// Accepts any certificate (haproxy_exporter's `--no-haproxy.ssl-verify`),
/// still checking that the handshake signatures are valid.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn http_get(
    idle: &Mutex<Option<IdleConnection>>,
    url: Url,
    tls_verify: bool,
    cap: usize,
) -> Result<Response, FetchError> {
    let host = url.host_str().unwrap_or("").to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let key = (url.scheme().to_owned(), host.clone(), port, tls_verify);
    let reusable = {
        let mut slot = idle.lock().unwrap_or_else(|p| p.into_inner());
        slot.take()
            .filter(|c| c.key == key && !c.sender.is_closed())
    };
    if let Some(conn) = reusable {
        // The server may have closed it meanwhile; then connect afresh.
        if let Ok(done) = http_exchange(conn, &url, cap).await {
            return keep(idle, done);
        }
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let tcp = tokio::net::TcpStream::connect((bare, port))
        .await
        .map_err(|e| FetchError::Connect(format!("{host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let conn = if url.scheme() == "https" {
        let name = rustls::pki_types::ServerName::try_from(bare.to_owned())
            .map_err(|e| FetchError::InvalidTarget(format!("{host}: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config(tls_verify))
            .connect(name, tcp)
            .await
            .map_err(|e| FetchError::Connect(format!("TLS handshake with {host}:{port}: {e}")))?;
        handshake(tls, key).await?
    } else {
        handshake(tcp, key).await?
    };
    keep(idle, http_exchange(conn, &url, cap).await?)
}

/// Puts the connection back for the next fetch, when it can be reused.
fn keep(
    idle: &Mutex<Option<IdleConnection>>,
    (response, conn): (Response, Option<IdleConnection>),
) -> Result<Response, FetchError> {
    if let Some(conn) = conn {
        *idle.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
    }
    Ok(response)
}

async fn handshake<S>(io: S, key: (String, String, u16, bool)) -> Result<IdleConnection, FetchError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
        .await
        .map_err(|e| FetchError::Protocol(e.to_string()))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    })
    .abort_handle();
    Ok(IdleConnection {
        key,
        sender,
        driver,
    })
}

/// One GET on `conn`; returns the response and the connection when it may
/// be reused (complete body, no `Connection: close`). On any error the
/// connection is dropped, which closes it.
async fn http_exchange(
    mut conn: IdleConnection,
    url: &Url,
    cap: usize,
) -> Result<(Response, Option<IdleConnection>), FetchError> {
    let protocol = |e: hyper::Error| FetchError::Protocol(e.to_string());
    let host_header = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_owned(),
    };
    let mut builder = hyper::Request::get(path_and_query(url))
        .header(hyper::header::HOST, host_header)
        .header(
            hyper::header::USER_AGENT,
            concat!("wasm_exporter/", env!("CARGO_PKG_VERSION")),
        );
    if !url.username().is_empty() || url.password().is_some() {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let user = decode(url.username());
        let pass = decode(url.password().unwrap_or(""));
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        builder = builder.header(hyper::header::AUTHORIZATION, format!("Basic {token}"));
    }
    let request = builder
        .body(Empty::<Bytes>::new())
        .map_err(|e| FetchError::InvalidTarget(e.to_string()))?;
    conn.sender.ready().await.map_err(protocol)?;
    let response = conn.sender.send_request(request).await.map_err(protocol)?;
    let status = response.status().as_u16();
    let closing = response
        .headers()
        .get(hyper::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let mut body = response.into_body();
    let hint = body.size_hint();
    if hint.lower() > cap as u64 {
        return Err(FetchError::TooLarge(cap as u64));
    }
    let mut out = Vec::with_capacity(usize::try_from(hint.lower()).unwrap_or(0).min(cap));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(protocol)?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > cap {
                return Err(FetchError::TooLarge(cap as u64));
            }
            out.extend_from_slice(&data);
        }
    }
    let response = Response { status, body: out };
    Ok((response, (!closing).then_some(conn)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(specs: &[&str]) -> Grants {
        Grants::parse(&specs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
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
        assert!(Grants::parse(&["ftp://x/".into()]).is_err());
        assert!(Grants::parse(&["unix:relative.sock".into()]).is_err());
        assert!(Grants::parse(&["tcp://nohost".into()]).is_err());
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

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("http://u:secret@h/p"), "http://u:xxxxx@h/p");
        assert_eq!(redact("unix:/s"), "unix:/s");
    }
}
