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
//! Deliberate gaps, each an error at load rather than silently ignored:
//! TLS 1.0/1.1, CBC and RSA key-exchange cipher suites and the P-521 curve
//! (rustls does not offer them).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use hyper::header::{HeaderName, HeaderValue};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use serde::Deserialize;

/// Why a web configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML does not fit the format.
    #[error("parsing {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_norway::Error,
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
    let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file: File = if text.trim().is_empty() {
        File::default()
    } else {
        serde_norway::from_str(&text).map_err(|source| WebConfigError::Parse {
            path: path.to_owned(),
            source,
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
            headers,
        },
        inputs,
    ))
}

/// The cost of a bcrypt hash, checking its shape (`$2a$`, `$2b$`, `$2y$`).
fn bcrypt_cost(hash: &str) -> Result<u32, String> {
    let parts: Vec<&str> = hash.split('$').collect();
    match parts.as_slice() {
        ["", "2a" | "2b" | "2y" | "2x", cost, rest] if rest.len() == 53 => cost
            .parse()
            .ok()
            .filter(|c| (4..=31).contains(c))
            .ok_or_else(|| "not a bcrypt hash (bad cost)".to_owned()),
        _ => Err("not a bcrypt hash ($2y$<cost>$<53 characters>)".to_owned()),
    }
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

fn resolve(base: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

fn read_pem(
    what: &'static str,
    inline: &str,
    file: &str,
    base: &Path,
    inputs: &mut Vec<PathBuf>,
) -> Result<Option<(String, Vec<u8>)>, WebConfigError> {
    match (inline.is_empty(), file.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Err(invalid(format!(
            "tls_server_config: set {what} inline or as a file, not both"
        ))),
        (false, true) => Ok(Some((
            format!("(inline {what})"),
            inline.as_bytes().to_vec(),
        ))),
        (true, false) => {
            let path = resolve(base, file);
            let bytes = std::fs::read(&path).map_err(|source| WebConfigError::Read {
                path: path.clone(),
                source,
            })?;
            inputs.push(path.clone());
            Ok(Some((path.display().to_string(), bytes)))
        }
    }
}

fn certificates(
    what: &'static str,
    (name, pem): &(String, Vec<u8>),
) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WebConfigError::Pem {
            what,
            path: name.clone(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(WebConfigError::Pem {
            what,
            path: name.clone(),
            message: "no PEM certificate found".into(),
        });
    }
    Ok(certs)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    Request,
    RequireAny,
    VerifyIfGiven,
    RequireAndVerify,
}

fn client_auth(name: &str) -> Result<ClientAuth, WebConfigError> {
    Ok(match name {
        "" | "NoClientCert" => ClientAuth::None,
        "RequestClientCert" => ClientAuth::Request,
        "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAny,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
        other => {
            return Err(invalid(format!(
                "tls_server_config.client_auth_type: unknown {other:?} (NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
            )));
        }
    })
}

fn tls_version(name: &str, default: u8) -> Result<u8, WebConfigError> {
    match name {
        "" => Ok(default),
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        "TLS10" | "TLS11" => Err(invalid(format!(
            "tls_server_config: {name} is not supported (rustls speaks TLS12 and TLS13)"
        ))),
        other => Err(invalid(format!(
            "tls_server_config: unknown TLS version {other:?} (TLS12, TLS13)"
        ))),
    }
}

fn provider(t: &TlsFile) -> Result<CryptoProvider, WebConfigError> {
    let mut provider = rustls::crypto::ring::default_provider();
    if !t.cipher_suites.is_empty() {
        // As in Go, the list applies to TLS 1.2; TLS 1.3 suites stay on.
        let mut chosen: Vec<_> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.tls13().is_some())
            .copied()
            .collect();
        for name in &t.cipher_suites {
            let wanted = match name.as_str() {
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
                    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
                }
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => {
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
                }
                n => n,
            };
            let suite = provider
                .cipher_suites
                .iter()
                .find(|s| s.tls13().is_none() && s.suite().as_str() == Some(wanted))
                .ok_or_else(|| {
                    invalid(format!(
                        "tls_server_config.cipher_suites: {name} is not supported (rustls offers only ECDHE with AES-GCM or ChaCha20-Poly1305)"
                    ))
                })?;
            chosen.push(*suite);
        }
        provider.cipher_suites = chosen;
    }
    if !t.curve_preferences.is_empty() {
        let mut groups = Vec::new();
        for name in &t.curve_preferences {
            let wanted = match name.as_str() {
                "X25519" => rustls::NamedGroup::X25519,
                "CurveP256" => rustls::NamedGroup::secp256r1,
                "CurveP384" => rustls::NamedGroup::secp384r1,
                other => {
                    return Err(invalid(format!(
                        "tls_server_config.curve_preferences: {other} is not supported (X25519, CurveP256, CurveP384)"
                    )));
                }
            };
            if let Some(g) = provider.kx_groups.iter().find(|g| g.name() == wanted) {
                groups.push(*g);
            }
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

fn build_tls(
    t: &TlsFile,
    base: &Path,
    inputs: &mut Vec<PathBuf>,
) -> Result<Option<Arc<rustls::ServerConfig>>, WebConfigError> {
    let has_cert = !(t.cert.is_empty() && t.cert_file.is_empty());
    let has_key = !(t.key.is_empty() && t.key_file.is_empty());
    match (has_cert, has_key) {
        (false, false) if t.client_auth_type.is_empty() && t.client_ca_file.is_empty() => {
            return Ok(None);
        }
        (false, false) => {
            return Err(invalid("tls_server_config: missing cert_file and key_file"));
        }
        (true, false) => return Err(invalid("tls_server_config: missing key_file")),
        (false, true) => return Err(invalid("tls_server_config: missing cert_file")),
        (true, true) => {}
    }
    let read = |what, inline: &str, file: &str, inputs: &mut Vec<PathBuf>| {
        read_pem(what, inline, file, base, inputs)?
            .ok_or_else(|| invalid(format!("tls_server_config: missing {what}")))
    };
    let cert = read("certificate", &t.cert, &t.cert_file, inputs)?;
    let key = read("key", &t.key, &t.key_file, inputs)?;
    let chain = certificates("certificate", &cert)?;
    let key = PrivateKeyDer::from_pem_slice(&key.1).map_err(|e| WebConfigError::Pem {
        what: "key",
        path: key.0.clone(),
        message: e.to_string(),
    })?;

    let auth = client_auth(&t.client_auth_type)?;
    let ca = read_pem("client CA", &t.client_ca, &t.client_ca_file, base, inputs)?;
    let provider = Arc::new(provider(t)?);
    let verifier: Arc<dyn ClientCertVerifier> = match (auth, ca) {
        (ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify, None) => {
            return Err(invalid(format!(
                "tls_server_config: client_auth_type {} needs client_ca_file",
                t.client_auth_type
            )));
        }
        (ClientAuth::None, Some(_)) => {
            return Err(invalid(
                "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert",
            ));
        }
        (ClientAuth::None, None) => WebPkiClientVerifier::no_client_auth(),
        (ClientAuth::Request | ClientAuth::RequireAny, _) => Arc::new(AnyClientCert {
            mandatory: auth == ClientAuth::RequireAny,
            algorithms: provider.signature_verification_algorithms,
        }),
        (ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify, Some(ca)) => {
            let mut roots = RootCertStore::empty();
            for c in certificates("client CA", &ca)? {
                roots.add(c)?;
            }
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let builder = if auth == ClientAuth::VerifyIfGiven {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder
                .build()
                .map_err(|e| invalid(format!("tls_server_config: client CA: {e}")))?
        }
    };
    let verifier = if t.client_allowed_sans.is_empty() {
        verifier
    } else {
        let allowed = t
            .client_allowed_sans
            .iter()
            .map(|s| {
                ServerName::try_from(s.clone()).map_err(|_| {
                    invalid(format!(
                        "tls_server_config.client_allowed_sans: {s:?} is not a DNS name or IP address"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Arc::new(AllowedSans {
            inner: verifier,
            allowed,
        })
    };

    let min = tls_version(&t.min_version, 12)?;
    let max = tls_version(&t.max_version, 13)?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect();
    if versions.is_empty() {
        return Err(invalid(format!(
            "tls_server_config: min_version {} is above max_version {}",
            t.min_version, t.max_version
        )));
    }
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// `RequestClientCert` / `RequireAnyClientCert`: a certificate is asked
/// for (and may be required) but not checked against a CA; its proof of
/// possession still is.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `client_allowed_sans`: after the CA check, the client's certificate
/// must name one of these (DNS or IP subject alternative names).
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<ServerName<'static>>,
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| rustls::Error::General(format!("client certificate: {e}")))?;
        if self
            .allowed
            .iter()
            .any(|name| cert.verify_is_valid_for_subject_name(name).is_ok())
        {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Most remembered basic-auth outcomes; the cache starts over when full.
const AUTH_CACHE_ENTRIES: usize = 4096;

/// Basic-auth users and their bcrypt hashes, with a cache of outcomes so
/// that a scrape every few seconds does not pay bcrypt's cost each time.
pub struct Users {
    hashes: HashMap<String, String>,
    /// Checked for an unknown user, so that it costs what a known one does.
    decoy: Option<String>,
    /// SHA-256 of (user, hash, password) → outcome; never the password.
    cache: Mutex<HashMap<[u8; 32], bool>>,
}

impl Users {
    fn new(hashes: HashMap<String, String>) -> Self {
        // The costliest configured hash, so no user is cheaper to probe.
        let decoy = hashes
            .values()
            .max_by_key(|h| bcrypt_cost(h).unwrap_or(0))
            .cloned();
        Users {
            hashes,
            decoy,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether authentication is on.
    pub fn enabled(&self) -> bool {
        !self.hashes.is_empty()
    }

    /// Checks an `Authorization` header value; `verify` is bcrypt's check
    /// (blocking), called only when the outcome is not cached.
    pub fn check(
        &self,
        authorization: Option<&[u8]>,
        verify: impl FnOnce(&str, &str) -> bool,
    ) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let (hash, known) = match self.hashes.get(&user) {
            Some(h) => (h.as_str(), true),
            None => match &self.decoy {
                Some(d) => (d.as_str(), false),
                None => return false,
            },
        };
        let key = {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            for part in [user.as_bytes(), hash.as_bytes(), password.as_bytes()] {
                ctx.update(&(part.len() as u64).to_le_bytes());
                ctx.update(part);
            }
            let mut key = [0u8; 32];
            key.copy_from_slice(ctx.finish().as_ref());
            key
        };
        if let Some(ok) = self.lock().get(&key) {
            return *ok && known;
        }
        let ok = verify(&password, hash);
        let mut cache = self.lock();
        if cache.len() >= AUTH_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, ok);
        ok && known
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], bool>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// bcrypt's own check, for [`Users::check`].
pub fn bcrypt_verify(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// `Basic base64(user:password)` → (user, password).
fn parse_basic(value: &[u8]) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
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
    use std::cell::Cell;

    fn basic(user: &str, password: &str) -> Vec<u8> {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
        .into_bytes()
    }

    // A real bcrypt hash of "secret" at cost 4.
    fn hash() -> String {
        bcrypt::hash("secret", 4).unwrap_or_default()
    }

    #[test]
    fn known_and_unknown_users_each_cost_one_bcrypt_check_then_none() {
        let users = Users::new(HashMap::from([("prom".to_owned(), hash())]));
        let calls = Cell::new(0);
        let verify = |p: &str, h: &str| {
            calls.set(calls.get() + 1);
            bcrypt_verify(p, h)
        };
        assert!(users.check(Some(&basic("prom", "secret")), verify));
        assert!(!users.check(Some(&basic("prom", "wrong")), verify));
        // An unknown user runs bcrypt too, even with the right password.
        assert!(!users.check(Some(&basic("nobody", "secret")), verify));
        assert_eq!(calls.get(), 3);
        // Repeats are answered from the cache, with the same outcome.
        assert!(users.check(Some(&basic("prom", "secret")), verify));
        assert!(!users.check(Some(&basic("prom", "wrong")), verify));
        assert!(!users.check(Some(&basic("nobody", "secret")), verify));
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn malformed_authorization_is_refused_without_bcrypt() {
        let users = Users::new(HashMap::from([("prom".to_owned(), hash())]));
        let never = |_: &str, _: &str| -> bool { panic!("bcrypt called") };
        assert!(!users.check(None, never));
        assert!(!users.check(Some(b"Bearer abc"), never));
        assert!(!users.check(Some(b"Basic !!!"), never));
        assert!(!users.check(Some(b"Basic cHJvbQ=="), never)); // "prom", no colon
    }

    #[test]
    fn bcrypt_hash_shapes() {
        assert_eq!(bcrypt_cost(&hash()), Ok(4));
        assert!(bcrypt_cost("plain").is_err());
        assert!(
            bcrypt_cost("$2y$99$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyza").is_err()
        );
    }

    fn load_str(yaml: &str) -> Result<Settings, WebConfigError> {
        let dir =
            std::env::temp_dir().join(format!("webconfig-{}-{}", std::process::id(), yaml.len()));
        std::fs::create_dir_all(&dir).map_err(|source| WebConfigError::Read {
            path: dir.clone(),
            source,
        })?;
        let path = dir.join("web.yml");
        std::fs::write(&path, yaml).map_err(|source| WebConfigError::Read {
            path: path.clone(),
            source,
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
