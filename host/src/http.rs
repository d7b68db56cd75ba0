//! The HTTP server: `/metrics` (or `--web.telemetry-path`), a landing page,
//! `/-/healthy` and `/-/ready`, with graceful shutdown.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::exposition::negotiate::{self, Format};
use crate::exposition::{openmetrics, text};
use crate::gather::Gatherer;
use crate::selfmetrics::BuildInfo;
use crate::webconfig::{self, Settings, WebConfig};

/// Header in which Prometheus sends its scrape timeout.
pub const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
/// How long a client may take to send its request headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request body accepted (no endpoint reads one); more gets 413.
pub const MAX_BODY_BYTES: u64 = 64 << 10;
/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Settings of the web layer.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Path of the metrics endpoint.
    pub telemetry_path: String,
    /// Subtracted from a scrape's timeout header to leave time for the
    /// response.
    pub timeout_offset: Duration,
    /// Most metrics requests served at once; 0 for no limit.
    pub max_requests: usize,
    /// `--web.config.file`: TLS, basic auth and extra headers.
    pub web_config: Option<Arc<WebConfig>>,
}

/// Shared state of the server.
pub struct App {
    gatherer: tokio::sync::OnceCell<Arc<Gatherer>>,
    settings: WebSettings,
    build: BuildInfo,
    ready: AtomicBool,
    /// Size of the last body, to size the next buffer.
    last_size: AtomicUsize,
    /// Permits for metrics requests in flight (`--web.max-requests`).
    in_flight: Option<Arc<tokio::sync::Semaphore>>,
    reload: std::sync::OnceLock<ReloadTrigger>,
}

/// Asks the reload loop for a reload; with a sender, for its outcome too.
pub type ReloadTrigger =
    tokio::sync::mpsc::Sender<Option<tokio::sync::oneshot::Sender<Result<String, String>>>>;

type Body = Full<Bytes>;

impl App {
    /// A server that answers `/-/healthy` at once and the rest once
    /// [`App::set_gatherer`] was called.
    pub fn new(settings: WebSettings) -> Self {
        let in_flight = (settings.max_requests > 0)
            .then(|| Arc::new(tokio::sync::Semaphore::new(settings.max_requests)));
        App {
            in_flight,
            reload: std::sync::OnceLock::new(),
            gatherer: tokio::sync::OnceCell::new(),
            settings,
            build: BuildInfo::current(),
            ready: AtomicBool::new(false),
            last_size: AtomicUsize::new(16 << 10),
        }
    }

    /// Installs the gatherer once plugins are loaded; the server is ready
    /// from then on.
    pub fn set_gatherer(&self, gatherer: Arc<Gatherer>) {
        if self.gatherer.set(gatherer).is_ok() {
            self.ready.store(true, Ordering::SeqCst);
        }
    }

    /// Serves one request under the connection's web settings: basic
    /// auth first, the configured headers on every answer.
    pub async fn handle_with(
        &self,
        req: Request<Incoming>,
        web: Option<Arc<Settings>>,
    ) -> Response<Body> {
        let Some(web) = web else {
            return self.handle(req).await;
        };
        let mut resp = if web.users.enabled() && !authorized(&web, &req).await {
            let mut resp = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"wasm_exporter\", charset=\"UTF-8\""),
            );
            resp
        } else {
            self.handle(req).await
        };
        for (name, value) in &web.headers {
            resp.headers_mut().insert(name.clone(), value.clone());
        }
        resp
    }

    /// Routes one request. Never fails: every problem is an HTTP answer.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let too_big = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > MAX_BODY_BYTES);
        if too_big {
            let mut resp = plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "413 request body too large\n",
            );
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return resp;
        }
        let path = req.uri().path();
        let known =
            path == self.settings.telemetry_path || matches!(path, "/" | "/-/healthy" | "/-/ready");
        if path == "/-/reload" {
            return self.reload(req.method()).await;
        }
        if !known {
            return plain(StatusCode::NOT_FOUND, "404 page not found\n");
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
        if path == self.settings.telemetry_path {
            // Over the limit, answer at once rather than queue up work.
            let _permit = match &self.in_flight {
                Some(sem) => match Arc::clone(sem).try_acquire_owned() {
                    Ok(permit) => Some(permit),
                    Err(_) => {
                        return plain(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "503 too many metrics requests in flight (--web.max-requests); try again later\n",
                        );
                    }
                },
                None => None,
            };
            return self.metrics(&req).await;
        }
        match path {
            "/-/healthy" => plain(StatusCode::OK, "Healthy.\n"),
            "/-/ready" if self.ready.load(Ordering::SeqCst) => plain(StatusCode::OK, "Ready.\n"),
            "/-/ready" => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready: loading plugins.\n",
            ),
            _ => self.landing(),
        }
    }

    async fn reload(&self, method: &Method) -> Response<Body> {
        if method != Method::POST && method != Method::PUT {
            let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "405 use POST to reload\n");
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST, PUT"));
            return resp;
        }
        let Some(trigger) = self.reload.get() else {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready: loading plugins.\n",
            );
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        if trigger.send(Some(tx)).await.is_err() {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "reloading is not running\n",
            );
        }
        match rx.await {
            Ok(Ok(report)) => text_response(StatusCode::OK, report),
            Ok(Err(error)) => text_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reload failed: {error}\n"),
            ),
            Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "reload did not answer\n"),
        }
    }

    /// Connects `POST /-/reload` to the reload loop.
    pub fn set_reload(&self, trigger: ReloadTrigger) {
        let _ = self.reload.set(trigger);
    }

    fn scrape_budget(&self, req: &Request<Incoming>) -> Option<Duration> {
        let raw = req.headers().get(SCRAPE_TIMEOUT_HEADER)?.to_str().ok()?;
        let seconds: f64 = raw
            .trim()
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s > 0.0)?;
        let timeout = Duration::try_from_secs_f64(seconds).ok()?;
        // Leave room for the response; with a tiny timeout, use half of it.
        Some(
            timeout
                .checked_sub(self.settings.timeout_offset)
                .filter(|d| !d.is_zero())
                .unwrap_or(timeout / 2),
        )
    }

    async fn metrics(&self, req: &Request<Incoming>) -> Response<Body> {
        let Some(gatherer) = self.gatherer.get() else {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready: loading plugins.\n",
            );
        };
        let header_str = |name| {
            req.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let format = negotiate::negotiate(header_str(header::ACCEPT));
        let gzip = negotiate::accepts_gzip(header_str(header::ACCEPT_ENCODING));

        let families = gatherer.gather(self.scrape_budget(req)).await;
        let mut body = Vec::with_capacity(self.last_size.load(Ordering::Relaxed) + 4096);
        match format {
            Format::Text => text::encode(&families, &mut body),
            Format::OpenMetrics { .. } => openmetrics::encode(&families, &mut body),
        }
        self.last_size.store(body.len(), Ordering::Relaxed);

        let mut encoding = None;
        if gzip {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                flate2::Compression::fast(),
            );
            if encoder.write_all(&body).is_ok()
                && let Ok(compressed) = encoder.finish()
            {
                body = compressed;
                encoding = Some("gzip");
            }
        }
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Encoding"),
        );
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        resp
    }

    fn landing(&self) -> Response<Body> {
        let mut rows = String::new();
        if let Some(gatherer) = self.gatherer.get() {
            let load_errors = gatherer.load_errors();
            for plugin in &gatherer.catalogue().plugins {
                let status = plugin.status();
                let (name, version, description) = status
                    .metadata
                    .as_ref()
                    .map(|m| (m.name.as_str(), m.version.as_str(), m.description.as_str()))
                    .unwrap_or(("", "", ""));
                let state = match (status.collected, status.up) {
                    (false, _) => "not collected yet",
                    (true, true) => "up",
                    (true, false) => "down",
                };
                rows.push_str(&format!(
                    "<tr class=\"{class}\"><td class=\"plugin\">{plugin}</td><td class=\"name\">{name}</td><td class=\"version\">{version}</td><td class=\"state\">{state}</td><td class=\"duration\">{duration:.3} s</td><td class=\"series\">{series}</td><td class=\"error\">{error}</td><td class=\"description\">{description}</td></tr>\n",
                    class = if status.up || !status.collected { "ok" } else { "down" },
                    plugin = html(&plugin.name),
                    name = html(name),
                    version = html(version),
                    duration = status.last_duration.as_secs_f64(),
                    series = status.series,
                    error = html(&match load_errors.get(&*plugin.name) {
                        Some(n) => format!("{} (failed reloads: {n})", status.last_error.as_deref().unwrap_or("")),
                        None => status.last_error.clone().unwrap_or_default(),
                    }),
                    description = html(description),
                ));
            }
        }
        let page = format!(
            include_str!("landing.html"),
            path = html(&self.settings.telemetry_path),
            rows = rows,
            version = html(self.build.version),
            revision = html(self.build.revision),
            rustversion = html(self.build.rustversion),
            wasmtime = html(self.build.wasmtime),
        );
        let mut resp = Response::new(Full::new(Bytes::from(page)));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        resp
    }
}

/// Checks basic auth; bcrypt runs off the async threads when not cached.
async fn authorized(web: &Arc<Settings>, req: &Request<Incoming>) -> bool {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let web = Arc::clone(web);
    tokio::task::spawn_blocking(move || {
        web.users
            .check(authorization.as_deref(), webconfig::bcrypt_verify)
    })
    .await
    .unwrap_or(false)
}

fn text_response(status: StatusCode, body: String) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn plain(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Escapes text for HTML.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Binds every address, or fails naming the one that could not be bound.
pub async fn bind(addresses: &[SocketAddr]) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::with_capacity(addresses.len());
    for addr in addresses {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("listening on {addr}: {e}")))?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// The listening sockets systemd passed (`LISTEN_FDS`), for
/// `--web.systemd-socket`.
pub fn systemd_listeners() -> std::io::Result<Vec<TcpListener>> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "--web.systemd-socket: no sockets passed by systemd (LISTEN_FDS/LISTEN_PID unset)",
        ));
    }
    let mut listeners = Vec::with_capacity(fds.len());
    for i in 0..fds.len() {
        let listener = fds.take_tcp_listener(i)?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("--web.systemd-socket: socket {i} is not a TCP listener"),
            )
        })?;
        listener.set_nonblocking(true)?;
        listeners.push(TcpListener::from_std(listener)?);
    }
    Ok(listeners)
}

/// Serves `app` on `listeners` until `shutdown` resolves, then lets requests
/// in flight finish (up to [`SHUTDOWN_GRACE`]).
pub async fn serve(listeners: Vec<TcpListener>, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let mut acceptors = tokio::task::JoinSet::new();
    for listener in listeners {
        let tx = tx.clone();
        acceptors.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok(conn) => {
                        if tx.send(conn).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    drop(tx);

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(64 << 10);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            conn = rx.recv() => {
                let Some((stream, _peer)) = conn else { break };
                let app = Arc::clone(&app);
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    // Picks up a renewed certificate or changed users.
                    let web = app.settings.web_config.as_ref().map(|w| w.current());
                    let tls = web.as_ref().and_then(|w| w.tls.clone());
                    let service = {
                        let web = web.clone();
                        service_fn(move |req| {
                            let app = Arc::clone(&app);
                            let web = web.clone();
                            async move { Ok::<_, Infallible>(app.handle_with(req, web).await) }
                        })
                    };
                    let result = match tls {
                        None => watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await,
                        Some(config) => {
                            // The handshake is bounded like the headers are.
                            let accept = tokio_rustls::TlsAcceptor::from(config).accept(stream);
                            match tokio::time::timeout(HEADER_READ_TIMEOUT, accept).await {
                                Ok(Ok(tls)) => watcher.watch(builder.serve_connection(TokioIo::new(tls), service)).await,
                                Ok(Err(e)) => {
                                    tracing::debug!("TLS handshake failed: {e}");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!("TLS handshake timed out");
                                    return;
                                }
                            }
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    acceptors.abort_all();
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("shutdown grace period over, closing connections"),
    }
}
