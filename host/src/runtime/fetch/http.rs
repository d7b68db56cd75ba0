//! HTTP(S) targets: one request over hyper's HTTP/1.1 client, with one
//! kept-alive connection per plugin reused by the next scrape (as Go's
//! http.Client does for haproxy_exporter), and the response capped in size.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Body as _;
use hyper::header::{self, HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncWrite};
use url::Url;

use super::grants::path_and_query;
use super::{FetchError, Response};

/// Headers the host writes itself; a plugin's are dropped, and a grant
/// cannot set them.
pub(super) const HOST_SET: [HeaderName; 10] = [
    header::HOST,
    header::CONTENT_LENGTH,
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
];

/// Which connection a request may reuse: scheme, host, port, TLS
/// verification, and the grant it was made under (a grant's own TLS is a
/// different client).
type Key = (String, String, u16, bool, Option<usize>);

/// A byte stream a connection runs over: TCP, or TLS over it.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

/// hyper's side of one connection: what reads and writes it. Polled by
/// the fetch that uses the connection, in its own task, rather than by a
/// task of its own: the response reaches the plugin's collect without a
/// hand-off between tasks (and threads) per read.
type Driver =
    hyper::client::conn::http1::Connection<hyper_util::rt::TokioIo<Box<dyn Stream>>, Full<Bytes>>;

/// An HTTP/1.1 connection left open after a complete response. Dropping
/// it closes the socket.
pub struct IdleConnection {
    key: Key,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    driver: Driver,
}

impl std::fmt::Debug for IdleConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdleConnection")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The TLS of one request: the client config, and the name to verify
/// when it is not the target's host.
pub(super) struct Tls {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: Option<String>,
}

/// One HTTP exchange, checked and ready to send.
pub(super) struct Exchange<'a> {
    pub method: hyper::Method,
    pub url: &'a Url,
    /// The plugin's headers (host-set ones removed) and the grant's.
    pub headers: &'a [(HeaderName, HeaderValue)],
    pub body: Bytes,
    pub tls: Tls,
    pub verify: bool,
    /// The grant the target matched (connections are not shared across
    /// grants).
    pub grant: Option<usize>,
    /// The plugin's response limit: past it the request fails.
    pub cap: usize,
    /// The plugin's read bound: past it the body is cut short.
    pub max_bytes: Option<u64>,
}

/// Sends `ex`, on the kept-alive connection when it fits.
pub(super) async fn request(
    idle: &Mutex<Option<IdleConnection>>,
    ex: &Exchange<'_>,
) -> Result<Response, FetchError> {
    let host = ex.url.host_str().unwrap_or("").to_owned();
    let port = ex.url.port_or_known_default().unwrap_or(80);
    let key = (
        ex.url.scheme().to_owned(),
        host.clone(),
        port,
        ex.verify,
        ex.grant,
    );
    let reusable = {
        let mut slot = idle.lock().unwrap_or_else(|p| p.into_inner());
        slot.take()
            .filter(|c| c.key == key && !c.sender.is_closed())
    };
    if let Some(conn) = reusable {
        // The server may have closed it meanwhile; then connect afresh.
        if let Ok(done) = exchange(conn, ex).await {
            return keep(idle, done);
        }
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let tcp = tokio::net::TcpStream::connect((bare, port))
        .await
        .map_err(|e| FetchError::Connect(format!("{host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let conn = if ex.url.scheme() == "https" {
        let verified = ex.tls.server_name.as_deref().unwrap_or(bare);
        let name = rustls::pki_types::ServerName::try_from(verified.to_owned())
            .map_err(|e| FetchError::InvalidTarget(format!("{verified}: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&ex.tls.config))
            .connect(name, tcp)
            .await
            .map_err(|e| FetchError::Connect(format!("TLS handshake with {host}:{port}: {e}")))?;
        handshake(Box::new(tls), key).await?
    } else {
        handshake(Box::new(tcp), key).await?
    };
    keep(idle, exchange(conn, ex).await?)
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

async fn handshake(io: Box<dyn Stream>, key: Key) -> Result<IdleConnection, FetchError> {
    let (sender, driver) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
        .await
        .map_err(|e| FetchError::Protocol(e.to_string()))?;
    Ok(IdleConnection {
        key,
        sender,
        driver,
    })
}

/// Basic auth from the URL's user info, if any.
fn url_credentials(url: &Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(url.username());
    let pass = decode(url.password().unwrap_or(""));
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    Some(format!("Basic {token}"))
}

/// One request on `conn`; returns the response and the connection when it
/// may be reused (complete body, no `Connection: close`). On any error the
/// connection is dropped, which closes it. The connection is driven here,
/// beside the exchange, until the exchange is done.
async fn exchange(
    conn: IdleConnection,
    ex: &Exchange<'_>,
) -> Result<(Response, Option<IdleConnection>), FetchError> {
    let IdleConnection {
        key,
        mut sender,
        mut driver,
    } = conn;
    let mut ended = false;
    let (response, reusable) = {
        let talk = talk(&mut sender, ex);
        tokio::pin!(talk);
        loop {
            tokio::select! {
                // The connection first: what it reads and writes is what
                // the exchange waits for, so it is then ready at once.
                biased;
                // The connection ended (closed or failed): the exchange
                // then ends too, with the response or with hyper's error.
                _ = &mut driver, if !ended => ended = true,
                done = &mut talk => break done?,
            }
        }
    };
    let conn = (reusable && !ended).then_some(IdleConnection {
        key,
        sender,
        driver,
    });
    Ok((response, conn))
}

/// The request and response of [`exchange`]; with whether the connection
/// may be reused.
async fn talk(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    ex: &Exchange<'_>,
) -> Result<(Response, bool), FetchError> {
    let protocol = |e: hyper::Error| FetchError::Protocol(e.to_string());
    let url = ex.url;
    let host_header = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_owned(),
    };
    let mut builder = hyper::Request::builder()
        .method(ex.method.clone())
        .uri(path_and_query(url))
        .header(header::HOST, host_header);
    let given = |name: &HeaderName| ex.headers.iter().any(|(n, _)| n == name);
    if !given(&header::USER_AGENT) {
        builder = builder.header(
            header::USER_AGENT,
            concat!("wasm_exporter/", env!("CARGO_PKG_VERSION")),
        );
    }
    if !given(&header::AUTHORIZATION)
        && let Some(basic) = url_credentials(url)
    {
        builder = builder.header(header::AUTHORIZATION, basic);
    }
    for (name, value) in ex.headers {
        builder = builder.header(name, value);
    }
    let request = builder
        .body(Full::new(ex.body.clone()))
        .map_err(|e| FetchError::InvalidTarget(e.to_string()))?;
    sender.ready().await.map_err(protocol)?;
    let response = sender.send_request(request).await.map_err(protocol)?;
    let status = response.status().as_u16();
    let closing = response
        .headers()
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = response.into_body();
    let bound = ex
        .max_bytes
        .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
    let hint = body.size_hint();
    if hint.lower() > ex.cap as u64 && bound > ex.cap {
        return Err(FetchError::TooLarge(ex.cap as u64));
    }
    let first = usize::try_from(hint.lower()).unwrap_or(0);
    let mut out = Vec::with_capacity(first.min(ex.cap).min(bound));
    let mut truncated = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(protocol)?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > bound && bound <= ex.cap {
                out.extend_from_slice(&data[..bound - out.len()]);
                truncated = true;
                break;
            }
            if out.len() + data.len() > ex.cap {
                return Err(FetchError::TooLarge(ex.cap as u64));
            }
            out.extend_from_slice(&data);
        }
    }
    let response = Response {
        status,
        headers,
        body: out,
        truncated,
    };
    // A body left unread leaves the connection unusable.
    Ok((response, !closing && !truncated))
}
