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

use url::Url;

use super::contract::current::fetch::{self, FetchError, Request, Response};
use super::state::StoreState;
pub use context::{FetchContext, FetchStats, SharedFetchStats};
pub use grants::Grants;
use grants::{Target, parse_target};
pub use http::IdleConnection;

impl FetchContext {
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

impl fetch::Host for StoreState {
    async fn fetch(&mut self, request: Request) -> Result<Response, FetchError> {
        self.fetch.fetch(&self.plugin, request, self.deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("http://u:secret@h/p"), "http://u:xxxxx@h/p");
        assert_eq!(redact("unix:/s"), "unix:/s");
    }
}
