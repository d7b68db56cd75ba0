//! Credentials a grant carries, held by the host: an `Authorization` header,
//! basic auth, other headers read from files, and TLS (CA, server name,
//! client certificate). The host adds them to the requests that grant
//! allows; the plugin never sees them, and a secret a target sends back
//! (an echo server, a reflected header) reaches the plugin as `<secret>`.
//!
//! Secret files are read on every request, so a rotated `Secret` mount or
//! systemd credential takes effect at the next scrape; TLS files are read
//! when the plugin loads (a reload picks up new ones).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use hyper::header::{HeaderName, HeaderValue};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::FetchError;
use super::tls::{client_config, webpki_roots};
use crate::fetch_spec::{FetchGrantSpec, TlsSpec};

/// What a secret is replaced with in a response.
pub const SCRUBBED: &[u8] = b"<secret>";

/// The shortest secret accepted: a shorter one could not be told apart
/// from ordinary bytes of a response when it is scrubbed.
pub const MIN_SECRET_BYTES: usize = 4;

/// The TLS of a grant, built at load.
#[derive(Debug, Clone)]
pub(super) struct GrantTls {
    /// Verifying (with the grant's CA when it has one).
    pub verified: Arc<rustls::ClientConfig>,
    /// Not verifying (the plugin asked, or `insecure_skip_verify`).
    pub unverified: Arc<rustls::ClientConfig>,
    /// The name to verify and send as SNI, if not the target's host.
    pub server_name: Option<String>,
    /// `insecure_skip_verify`.
    pub insecure: bool,
}

/// A grant's credentials, checked at load.
#[derive(Debug, Clone)]
pub(super) struct Credentials {
    /// Headers and the files of their values.
    headers: Vec<(HeaderName, Source)>,
    /// TLS, when the grant sets any of it.
    pub tls: Option<GrantTls>,
}

/// Where a header's value comes from.
#[derive(Debug, Clone)]
enum Source {
    /// `PREFIX` + the file's content, trimmed.
    File { prefix: String, path: PathBuf },
    /// `Basic base64(user:password)`, the password from the file.
    Basic { username: String, path: PathBuf },
}

/// The headers to add to one request, and the secrets to scrub from its
/// response.
#[derive(Debug, Default)]
pub(super) struct Added {
    /// Header name and value, replacing the plugin's of that name.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Every form of every secret sent: the file's content, the header's
    /// whole value, and basic auth's encoded pair.
    pub secrets: Vec<Vec<u8>>,
}

/// Reads a secret file, trimmed of surrounding white space.
fn secret(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = text.trim().to_owned();
    if text.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "{}: a secret of fewer than {MIN_SECRET_BYTES} bytes could not be kept out of responses",
            path.display()
        ));
    }
    Ok(text)
}

impl Credentials {
    /// Checks `spec`'s credentials (every file readable, headers valid, TLS
    /// files parsed).
    pub fn load(spec: &FetchGrantSpec) -> Result<Self, String> {
        let grant = &spec.target;
        let fail = |e: String| format!("grant {grant:?}: {e}");
        let mut headers = Vec::new();
        if spec.authorization.is_some() && spec.basic_auth.is_some() {
            return Err(fail(
                "authorization and basic_auth both set; use one".into(),
            ));
        }
        if let Some(a) = &spec.authorization {
            if a.kind.is_empty() || a.kind.contains(char::is_whitespace) {
                return Err(fail(format!(
                    "authorization type {:?} is not a scheme",
                    a.kind
                )));
            }
            headers.push((
                hyper::header::AUTHORIZATION,
                Source::File {
                    prefix: format!("{} ", a.kind),
                    path: a.credentials_file.clone(),
                },
            ));
        }
        if let Some(b) = &spec.basic_auth {
            headers.push((
                hyper::header::AUTHORIZATION,
                Source::Basic {
                    username: b.username.clone(),
                    path: b.password_file.clone(),
                },
            ));
        }
        for (name, h) in &spec.http_headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| fail(format!("http_headers: {name:?} is not a header name")))?;
            if super::http::HOST_SET.contains(&name) {
                return Err(fail(format!("http_headers: {name} is set by the host")));
            }
            for path in &h.files {
                headers.push((
                    name.clone(),
                    Source::File {
                        prefix: String::new(),
                        path: path.clone(),
                    },
                ));
            }
        }
        let credentials = Credentials {
            headers,
            tls: spec
                .tls_config
                .as_ref()
                .map(tls)
                .transpose()
                .map_err(fail)?,
        };
        // Every secret file must be readable now, not at the first scrape.
        credentials
            .added()
            .map_err(|e| fail(e.to_string().trim_start_matches("connect: ").to_owned()))?;
        Ok(credentials)
    }

    /// The headers for one request, files read now.
    pub fn added(&self) -> Result<Added, FetchError> {
        let mut added = Added::default();
        for (name, source) in &self.headers {
            let (value, plain) = match source {
                Source::File { prefix, path } => {
                    let s = secret(path).map_err(FetchError::Connect)?;
                    (format!("{prefix}{s}"), s)
                }
                Source::Basic { username, path } => {
                    let s = secret(path).map_err(FetchError::Connect)?;
                    let pair =
                        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{s}"));
                    added.secrets.push(pair.clone().into_bytes());
                    (format!("Basic {pair}"), s)
                }
            };
            let header = HeaderValue::from_str(&value).map_err(|_| {
                FetchError::Connect(format!(
                    "{}: not a valid {name} header value",
                    match source {
                        Source::File { path, .. } | Source::Basic { path, .. } => path.display(),
                    }
                ))
            })?;
            added.headers.push((name.clone(), header));
            added.secrets.push(value.into_bytes());
            added.secrets.push(plain.into_bytes());
        }
        // Longest first, so that a whole header value is scrubbed before
        // the token inside it.
        added.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Ok(added)
    }
}

/// Builds a grant's TLS from its files.
fn tls(spec: &TlsSpec) -> Result<GrantTls, String> {
    let roots = match &spec.ca_file {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("tls_config.ca_file {}: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "tls_config.ca_file {}: no CA certificate in it",
                    path.display()
                ));
            }
            roots
        }
        None => webpki_roots(),
    };
    let identity = match (&spec.cert_file, &spec.key_file) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("tls_config.cert_file {}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("tls_config.key_file {}: {e}", key.display()))?;
            Some((chain, key))
        }
        (None, None) => None,
        _ => return Err("tls_config: cert_file and key_file go together".into()),
    };
    if let Some(name) = &spec.server_name {
        rustls::pki_types::ServerName::try_from(name.as_str())
            .map_err(|e| format!("tls_config.server_name {name:?}: {e}"))?;
    }
    let build = |verify| {
        let identity = identity.as_ref().map(|(c, k)| (c.clone(), k.clone_key()));
        client_config(verify, roots.clone(), identity)
    };
    Ok(GrantTls {
        verified: build(true)?,
        unverified: build(false)?,
        server_name: spec.server_name.clone(),
        insecure: spec.insecure_skip_verify,
    })
}

/// Replaces every occurrence of each secret in `data` with [`SCRUBBED`].
pub(super) fn scrub(data: &mut Vec<u8>, secrets: &[Vec<u8>]) {
    for secret in secrets {
        if secret.is_empty() || memchr::memmem::find(data, secret).is_none() {
            continue;
        }
        let mut out = Vec::with_capacity(data.len());
        let mut last = 0;
        for at in memchr::memmem::find_iter(data, secret) {
            if at < last {
                continue;
            }
            out.extend_from_slice(&data[last..at]);
            out.extend_from_slice(SCRUBBED);
            last = at + secret.len();
        }
        out.extend_from_slice(&data[last..]);
        *data = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch_spec::{AuthorizationSpec, BasicAuthSpec};

    #[test]
    fn every_occurrence_of_a_secret_is_scrubbed_longest_first() {
        let secrets = vec![b"Bearer s3cret-token".to_vec(), b"s3cret-token".to_vec()];
        let mut body = b"auth=Bearer s3cret-token, again s3cret-token; s3cret-tokens".to_vec();
        scrub(&mut body, &secrets);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "auth=<secret>, again <secret>; <secret>s"
        );
    }

    #[test]
    fn files_are_read_per_request_and_short_or_missing_ones_refused() {
        let dir = std::env::temp_dir().join(format!("wx-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let token = dir.join("token");
        std::fs::write(&token, "first-token\n").unwrap();
        let spec = FetchGrantSpec {
            target: "http://a/*".into(),
            authorization: Some(AuthorizationSpec {
                kind: "Bearer".into(),
                credentials_file: token.clone(),
            }),
            ..FetchGrantSpec::default()
        };
        let c = Credentials::load(&spec).unwrap();
        let added = c.added().unwrap();
        assert_eq!(added.headers[0].1, "Bearer first-token");
        std::fs::write(&token, "second-token").unwrap();
        assert_eq!(c.added().unwrap().headers[0].1, "Bearer second-token");
        std::fs::write(&token, "abc").unwrap();
        let short = Credentials::load(&spec).unwrap_err();
        assert!(short.contains("fewer than 4 bytes"), "{short}");
        std::fs::remove_file(&token).unwrap();
        let missing = Credentials::load(&spec).unwrap_err();
        assert!(missing.starts_with("grant \"http://a/*\": "), "{missing}");
        assert!(missing.contains("token"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn basic_auth_sends_and_scrubs_the_encoded_pair() {
        let dir = std::env::temp_dir().join(format!("wx-basic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pass = dir.join("pass");
        std::fs::write(&pass, "hunter22").unwrap();
        let spec = FetchGrantSpec {
            target: "g".into(),
            basic_auth: Some(BasicAuthSpec {
                username: "u".into(),
                password_file: pass,
            }),
            ..FetchGrantSpec::default()
        };
        let added = Credentials::load(&spec).unwrap().added().unwrap();
        let pair = base64::engine::general_purpose::STANDARD.encode("u:hunter22");
        assert_eq!(added.headers[0].1, format!("Basic {pair}").as_str());
        assert!(added.secrets.contains(&pair.into_bytes()));
        assert!(added.secrets.contains(&b"hunter22".to_vec()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
