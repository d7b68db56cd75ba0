//! `--web.config.file`: the Prometheus exporter-toolkit web configuration
//! (TLS, basic auth, response headers), so files written for
//! node_exporter and friends work unchanged.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert
//!   client_ca_file: ca.crt
//!   min_version: TLS12
//! http_server_config:
//!   headers:
//!     Strict-Transport-Security: max-age=31536000
//! basic_auth_users:
//!   prometheus: $2y$10$...   # bcrypt
//! ```
//!
//! Relative paths are relative to the file's directory. As in the toolkit,
//! the file and the files it names are looked at again for every new
//! connection: a renewed certificate or a changed user list takes effect
//! without a restart. A change that does not load (a half-written key, say)
//! is logged and the last good configuration stays in use. Turning TLS on
//! or off takes a restart.
//!
//! Rooms: this file (the schema, headers and keeping the file current),
//! `tls` (`tls_server_config`), `san` (`client_allowed_sans`), `auth`
//! (`basic_auth_users`), `rate` (`rate_limit`), `socket`
//! (`ip_socket_config`).
//!
//! Deliberate gaps, each an error at load rather than silently ignored:
//! TLS 1.0/1.1, CBC and RSA key-exchange cipher suites and the P-521 curve
//! (rustls does not offer them).

mod auth;
mod rate;
mod san;
mod socket;
mod tls;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use auth::bcrypt_cost;
pub use auth::{Lookup, Pending, Users, bcrypt_verify};
pub use rate::RateLimit;
pub use socket::SocketOptions;
use tls::build_tls;

/// Why a web configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// A file could not be read.
    #[error("reading {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The YAML does not fit the format.
    #[error("parsing {path}: {error}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        error: serde_norway::Error,
    },
    /// A PEM file holds nothing usable.
    #[error("{what} {path}: {message}")]
    Pem {
        /// What the file was meant to hold.
        what: &'static str,
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A setting is wrong or not supported.
    #[error("{0}")]
    Invalid(String),
    /// rustls refused the settings.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

fn invalid(message: impl Into<String>) -> WebConfigError {
    WebConfigError::Invalid(message.into())
}

/// The file as written, field names as in the exporter-toolkit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    http_server_config: HttpFile,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    #[serde(default)]
    rate_limit: rate::RateLimitFile,
    #[serde(default)]
    ip_socket_config: socket::IpSocketFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    #[serde(default)]
    cert_file: String,
    #[serde(default)]
    key_file: String,
    /// The certificate inline, instead of `cert_file`.
    #[serde(default)]
    cert: String,
    /// The key inline, instead of `key_file`.
    #[serde(default)]
    key: String,
    #[serde(default)]
    client_auth_type: String,
    #[serde(default)]
    client_ca_file: String,
    #[serde(default)]
    client_ca: String,
    #[serde(default)]
    client_allowed_sans: Vec<String>,
    #[serde(default)]
    cipher_suites: Vec<String>,
    #[serde(default)]
    curve_preferences: Vec<String>,
    #[serde(default)]
    min_version: String,
    #[serde(default)]
    max_version: String,
    /// Accepted for compatibility; rustls always prefers its own order.
    #[serde(default)]
    #[allow(dead_code)]
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    /// Accepted for compatibility; the server speaks HTTP/1.1 only.
    #[serde(default)]
    #[allow(dead_code)]
    http2: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// The headers the toolkit lets a configuration set.
const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

/// One usable configuration.
pub struct Settings {
    /// The TLS server configuration, when TLS is on.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Basic-auth users; empty means no authentication.
    pub users: Users,
    /// Headers added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `rate_limit`: a request without a token gets 429.
    pub rate_limit: Option<RateLimit>,
    /// `ip_socket_config`, used at start-up.
    pub socket: SocketOptions,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.hashes.keys().collect::<Vec<_>>())
            .field("headers", &self.headers)
            .finish()
    }
}

impl Settings {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        let (settings, _) = load_with_inputs(path)?;
        Ok(settings)
    }
}

/// Reads the file; returns the settings and the files they were built from.
fn load_with_inputs(path: &Path) -> Result<(Settings, Vec<PathBuf>), WebConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| WebConfigError::Read {
        path: path.to_owned(),
        error,
    })?;
    let file: File = if text.trim().is_empty() {
        File::default()
    } else {
        serde_norway::from_str(&text).map_err(|error| WebConfigError::Parse {
            path: path.to_owned(),
            error,
        })?
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut inputs = vec![path.to_owned()];
    let tls = match &file.tls_server_config {
        Some(t) => build_tls(t, base, &mut inputs)?,
        None => None,
    };
    let mut hashes = HashMap::new();
    for (user, hash) in &file.basic_auth_users {
        if user.contains(':') {
            return Err(invalid(format!(
                "basic_auth_users: user name {user:?} contains ':'"
            )));
        }
        bcrypt_cost(hash).map_err(|e| invalid(format!("basic_auth_users: {user}: {e}")))?;
        hashes.insert(user.clone(), hash.clone());
    }
    let headers = build_headers(&file.http_server_config.headers)?;
    Ok((
        Settings {
            tls,
            users: Users::new(hashes),
            rate_limit: RateLimit::from_file(&file.rate_limit).map_err(invalid)?,
            socket: SocketOptions::from_file(&file.ip_socket_config).map_err(invalid)?,
            headers,
        },
        inputs,
    ))
}

fn build_headers(
    headers: &BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, WebConfigError> {
    let mut out = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let Some(canonical) = ALLOWED_HEADERS
            .iter()
            .find(|h| h.eq_ignore_ascii_case(name))
        else {
            return Err(invalid(format!(
                "http_server_config.headers: {name:?} can not be configured (allowed: {})",
                ALLOWED_HEADERS.join(", ")
            )));
        };
        let ok = match *canonical {
            "X-Content-Type-Options" => value.eq_ignore_ascii_case("nosniff"),
            "X-Frame-Options" => {
                value.eq_ignore_ascii_case("deny") || value.eq_ignore_ascii_case("sameorigin")
            }
            _ => true,
        };
        if !ok {
            return Err(invalid(format!(
                "http_server_config.headers: invalid value {value:?} for {canonical}"
            )));
        }
        let value = HeaderValue::from_str(value).map_err(|_| {
            invalid(format!(
                "http_server_config.headers: {canonical} value is not a valid header value"
            ))
        })?;
        let name = HeaderName::from_bytes(canonical.to_ascii_lowercase().as_bytes())
            .map_err(|_| invalid(format!("http_server_config.headers: bad name {canonical}")))?;
        out.push((name, value));
    }
    Ok(out)
}

/// A stamp of the files a configuration was built from; a change in any
/// (or one going missing) means reloading.
type Stamp = Vec<Option<(SystemTime, u64)>>;

fn stamp(paths: &[PathBuf]) -> Stamp {
    paths
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
        })
        .collect()
}

struct Loaded {
    settings: Arc<Settings>,
    inputs: Vec<PathBuf>,
    stamp: Stamp,
    /// Stamp of a change that failed to load, so it is logged once.
    failed: Option<Stamp>,
}

/// `--web.config.file`, kept current: [`WebConfig::current`] picks up
/// changes to the file and the certificates it names.
pub struct WebConfig {
    path: PathBuf,
    loaded: RwLock<Loaded>,
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl WebConfig {
    /// Loads the file; at start-up, any problem is fatal.
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        let (settings, inputs) = load_with_inputs(path)?;
        let stamp = stamp(&inputs);
        Ok(WebConfig {
            path: path.to_owned(),
            loaded: RwLock::new(Loaded {
                settings: Arc::new(settings),
                inputs,
                stamp,
                failed: None,
            }),
        })
    }

    /// Whether connections are TLS (fixed at start-up).
    pub fn tls(&self) -> bool {
        self.read().settings.tls.is_some()
    }

    /// The `ip_socket_config` loaded at start-up.
    pub fn socket_options(&self) -> SocketOptions {
        self.read().settings.socket
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The settings for a new connection, reloaded first if a file changed.
    pub fn current(&self) -> Arc<Settings> {
        let (inputs, old) = {
            let l = self.read();
            (l.inputs.clone(), l.stamp.clone())
        };
        let now = stamp(&inputs);
        if now == old {
            return Arc::clone(&self.read().settings);
        }
        let mut l = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        if l.stamp != old || l.failed.as_ref() == Some(&now) {
            // Another connection reloaded, or this change already failed.
            return Arc::clone(&l.settings);
        }
        let tls_before = l.settings.tls.is_some();
        match load_with_inputs(&self.path) {
            Ok((settings, _)) if settings.tls.is_some() != tls_before => {
                tracing::error!(
                    file = %self.path.display(),
                    "web config change turns TLS on or off; that takes a restart, keeping the old settings"
                );
                l.failed = Some(now);
            }
            Ok((settings, inputs)) => {
                tracing::info!(file = %self.path.display(), "web config reloaded");
                l.stamp = stamp(&inputs);
                l.inputs = inputs;
                l.settings = Arc::new(settings);
                l.failed = None;
            }
            Err(e) => {
                tracing::error!(file = %self.path.display(), error = %e, "web config change not loaded, keeping the old settings");
                l.failed = Some(now);
            }
        }
        Arc::clone(&l.settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webconfig::auth::tests::hash;

    fn load_str(yaml: &str) -> Result<Settings, WebConfigError> {
        let dir =
            std::env::temp_dir().join(format!("webconfig-{}-{}", std::process::id(), yaml.len()));
        std::fs::create_dir_all(&dir).map_err(|error| WebConfigError::Read {
            path: dir.clone(),
            error,
        })?;
        let path = dir.join("web.yml");
        std::fs::write(&path, yaml).map_err(|error| WebConfigError::Read {
            path: path.clone(),
            error,
        })?;
        let r = Settings::load(&path);
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            ("basic_auth_users:\n  a: plain\n", "not a bcrypt hash"),
            ("bogus: 1\n", "unknown field `bogus`"),
            (
                "http_server_config:\n  headers:\n    Server: x\n",
                "can not be configured",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "invalid value",
            ),
            (
                "tls_server_config:\n  cert_file: a.crt\n",
                "missing key_file",
            ),
            (
                "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
                "nope.crt",
            ),
            (
                "tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n",
                "missing cert_file",
            ),
        ];
        for (yaml, needle) in cases {
            match load_str(yaml) {
                Ok(s) => panic!("{yaml:?} loaded: {s:?}"),
                Err(e) => assert!(e.to_string().contains(needle), "{yaml:?}: {e}"),
            }
        }
    }

    #[test]
    fn empty_and_auth_only_files_load_without_tls() {
        let empty = load_str("").map_err(|e| e.to_string());
        assert!(
            empty
                .as_ref()
                .is_ok_and(|s| s.tls.is_none() && !s.users.enabled())
        );
        let yaml = format!(
            "basic_auth_users:\n  prom: '{}'\nhttp_server_config:\n  headers:\n    x-content-type-options: NoSniff\n",
            hash()
        );
        let s = load_str(&yaml).map_err(|e| e.to_string());
        assert!(s.as_ref().is_ok_and(|s| s.tls.is_none()
            && s.users.enabled()
            && s.headers.len() == 1
            && s.headers[0].0 == "x-content-type-options"));
    }
}
