//! The `fetch` capability: outbound HTTP(S), unix-socket and TCP requests on a
//! plugin's behalf, each checked against the plugin's grants first.
//! Rooms: [`grants`] (what may be fetched), `http` (HTTP(S) with
//! keep-alive), `socket` (unix and TCP), `tls` (the client's TLS).
//!
//! Every failure is an ordinary [`FetchError`] value for the plugin, never a
//! trap. Failures are counted and logged once per distinct error.

pub mod context;
mod grants;
mod http;
mod socket;
mod tls;

use std::time::{Duration, Instant};

use tracing::Level;
use url::Url;

use super::host::LogBudget;
pub use context::{FetchContext, FetchStats, SharedFetchStats};
pub use grants::Grants;
use grants::{Target, parse_target};
pub use http::IdleConnection;

/// One request of a plugin, in the host's words (each contract version's
/// file maps its own record onto this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `http(s)://...`, `unix:/path` or `tcp://host:port`.
    pub target: String,
    /// For sockets: a line sent before reading the answer.
    pub command: Option<String>,
    /// For `https`: whether the server's certificate is verified.
    pub tls_verify: bool,
    /// The plugin's own timeout, within its call's deadline.
    pub timeout_ms: Option<u32>,
}

/// What a target answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status; 0 for a socket.
    pub status: u16,
    /// The body, within the plugin's `max_response_bytes`.
    pub body: Vec<u8>,
}

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
                Target::Http(url) => http::http_get(&self.idle, url, req.tls_verify, cap).await,
                Target::Unix(path) => {
                    let stream = tokio::net::UnixStream::connect(&path)
                        .await
                        .map_err(|e| FetchError::Connect(format!("{}: {e}", path.display())))?;
                    socket::exchange(stream, req.command.as_deref(), cap).await
                }
                Target::Tcp(host, port) => {
                    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
                        .await
                        .map_err(|e| FetchError::Connect(format!("{host}:{port}: {e}")))?;
                    socket::exchange(stream, req.command.as_deref(), cap).await
                }
            }
        };
        tokio::time::timeout_at(tokio::time::Instant::from_std(end), work)
            .await
            .unwrap_or(Err(FetchError::Timeout))
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
    use std::sync::Arc;

    #[tokio::test]
    async fn a_request_out_of_time_is_checked_against_the_grants_and_never_sent() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let granted = format!("tcp://127.0.0.1:{port}");
        let ctx = FetchContext {
            grants: Arc::new(Grants::parse(std::slice::from_ref(&granted)).unwrap()),
            ..FetchContext::deny_all()
        };
        let request = |target: &str| Request {
            target: target.to_owned(),
            command: Some("show stat\n".to_owned()),
            tls_verify: true,
            timeout_ms: Some(0),
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

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("http://u:secret@h/p"), "http://u:xxxxx@h/p");
        assert_eq!(redact("unix:/s"), "unix:/s");
    }
}
