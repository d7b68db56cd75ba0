//! HTTP(S) targets: a GET over hyper's HTTP/1.1 client, with one kept-alive
//! connection per plugin reused by the next scrape (as Go's http.Client does
//! for haproxy_exporter), and the response capped in size.

use std::sync::Mutex;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Body as _;
use tokio::io::{AsyncRead, AsyncWrite};
use url::Url;

use super::grants::path_and_query;
use super::tls::tls_config;
use super::{FetchError, Response};

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

pub(super) async fn http_get(
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
