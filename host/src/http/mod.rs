//! The HTTP server: `/metrics` (or `--web.telemetry-path`), a landing page,
//! `/-/healthy`, `/-/ready` and `/-/reload`, with basic auth and TLS from
//! the web config, and graceful shutdown.
//!
//! Rooms: this file (the shared state, auth and headers around every
//! answer), [`routes`] (what each path answers, the metrics body included),
//! [`probe`] (`/probe`'s query and status codes), [`landing`] (the HTML
//! page), [`server`] (listeners, TLS, connections), [`body`] (the response
//! body, in chunks).

pub mod body;
pub mod landing;
pub mod probe;
pub mod routes;
pub mod server;
pub mod sniff;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};

use crate::probe::Prober;
use crate::reload::ReloadTrigger;
use crate::scrape::Scraper;
use crate::selfmetrics::SelfMetrics;
use crate::webconfig::{self, Settings, WebConfig};
pub use server::{bind, serve, systemd_listeners};

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
    /// `--web.enable-lifecycle`: whether `POST /-/reload` is served.
    pub enable_lifecycle: bool,
    /// `--web.config.file`: TLS, basic auth and extra headers.
    pub web_config: Option<Arc<WebConfig>>,
}

/// Shared state of the server.
pub struct App {
    scraper: tokio::sync::OnceCell<Arc<Scraper>>,
    prober: std::sync::OnceLock<Prober>,
    settings: WebSettings,
    /// The host's own metrics: the handler's counts are kept there.
    selfmetrics: Arc<SelfMetrics>,
    ready: AtomicBool,
    /// Size of the last body, to size the next buffer (0 before the first).
    last_size: AtomicUsize,
    /// Permits for metrics requests in flight (`--web.max-requests`).
    in_flight: Option<Arc<tokio::sync::Semaphore>>,
    reload: std::sync::OnceLock<ReloadTrigger>,
}

type Body = body::Chunks;

impl App {
    /// A server that answers `/-/healthy` at once and the rest once
    /// [`App::set_scraper`] was called; it counts its answers into
    /// `selfmetrics`.
    pub fn new(settings: WebSettings, selfmetrics: Arc<SelfMetrics>) -> Self {
        let in_flight = (settings.max_requests > 0)
            .then(|| Arc::new(tokio::sync::Semaphore::new(settings.max_requests)));
        App {
            in_flight,
            reload: std::sync::OnceLock::new(),
            scraper: tokio::sync::OnceCell::new(),
            prober: std::sync::OnceLock::new(),
            settings,
            selfmetrics,
            ready: AtomicBool::new(false),
            last_size: AtomicUsize::new(0),
        }
    }

    /// Installs the scraper once plugins are loaded; the server is ready
    /// from then on.
    pub fn set_scraper(&self, scraper: Arc<Scraper>) {
        let prober = Prober::new(Arc::clone(scraper.plugins()), Arc::clone(&self.selfmetrics));
        if self.scraper.set(scraper).is_ok() {
            let _ = self.prober.set(prober);
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
            return self.route(req).await;
        };
        let mut resp = if web.users.enabled() && !authorized(&web, &req).await {
            let mut resp = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"wasm_exporter\", charset=\"UTF-8\""),
            );
            resp
        } else if web.rate_limit.as_ref().is_some_and(|limit| !limit.allow()) {
            plain(StatusCode::TOO_MANY_REQUESTS, "429 Too Many Requests\n")
        } else {
            self.route(req).await
        };
        for (name, value) in &web.headers {
            resp.headers_mut().insert(name.clone(), value.clone());
        }
        resp
    }

    /// Connects `POST /-/reload` to the reload loop.
    pub fn set_reload(&self, trigger: ReloadTrigger) {
        let _ = self.reload.set(trigger);
    }
}

/// bcrypt checks running at once, whoever asks: one per core, so that
/// requests with wrong credentials cannot take every core; the rest wait
/// their turn.
fn bcrypt_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

/// Checks basic auth: from the cache of good credentials when it can,
/// else with bcrypt off the async threads, within [`bcrypt_slots`].
async fn authorized(web: &Arc<Settings>, req: &Request<Incoming>) -> bool {
    let authorization = req.headers().get(header::AUTHORIZATION);
    let pending = match web.users.lookup(authorization.map(|v| v.as_bytes())) {
        webconfig::Lookup::Refused => return false,
        webconfig::Lookup::Cached => return true,
        webconfig::Lookup::Verify(pending) => pending,
    };
    let Ok(_slot) = bcrypt_slots().acquire().await else {
        return false;
    };
    let web = Arc::clone(web);
    tokio::task::spawn_blocking(move || web.users.verify(pending, webconfig::bcrypt_verify))
        .await
        .unwrap_or(false)
}

fn text_response(status: StatusCode, body: String) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn plain(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
