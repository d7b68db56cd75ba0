//! `tls_server_config`: certificates and keys (files or inline), client
//! authentication with its verifiers, versions, cipher suites and curves,
//! on rustls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DistinguishedName, RootCertStore};

use super::san::subject_alt_names;
use super::{TlsFile, WebConfigError, invalid};

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
            let bytes = std::fs::read(&path).map_err(|error| WebConfigError::Read {
                path: path.clone(),
                error,
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
            // Go's tls.CipherSuites() lists the TLS 1.3 suites too, and
            // takes them in the list without effect: so do we.
            // (rustls spells them TLS13_...).
            let tls13 = name.strip_prefix("TLS_").is_some_and(|rest| {
                let spelled = format!("TLS13_{rest}");
                provider
                    .cipher_suites
                    .iter()
                    .any(|s| s.tls13().is_some() && s.suite().as_str() == Some(spelled.as_str()))
            });
            if tls13 {
                continue;
            }
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

pub(super) fn build_tls(
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
    // Without client_ca_file, Go verifies client certificates against the
    // system's roots: so do we.
    let ca = match (auth, ca) {
        (ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify, None) => {
            Some(system_roots().map_err(|e| {
                invalid(format!(
                    "tls_server_config: client_auth_type {} without client_ca_file verifies against the system's roots: {e}",
                    t.client_auth_type
                ))
            })?)
        }
        (_, ca) => ca,
    };
    let verifier: Arc<dyn ClientCertVerifier> = match (auth, ca) {
        (ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify, None) => {
            return Err(invalid("tls_server_config: no client CA"));
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
            // As Go's AppendCertsFromPEM: the certificates that parse are
            // taken (a system bundle may hold a few that do not), and none
            // at all is an error.
            let mut roots = RootCertStore::empty();
            let listed = certificates("client CA", &ca)?;
            let (added, _) = roots.add_parsable_certificates(listed.clone());
            if added == 0 {
                return Err(invalid(format!(
                    "tls_server_config: no usable client CA certificate in {}",
                    ca.0
                )));
            }
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let builder = if auth == ClientAuth::VerifyIfGiven {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            let webpki = builder
                .build()
                .map_err(|e| invalid(format!("tls_server_config: client CA: {e}")))?;
            Arc::new(RootsAsLeaves {
                inner: webpki,
                roots: listed,
            })
        }
    };
    let verifier = if t.client_allowed_sans.is_empty() {
        verifier
    } else {
        // As exporter-toolkit: the list needs a certificate to check, so a
        // type that lets a client in without one is refused at load.
        if !matches!(auth, ClientAuth::RequireAny | ClientAuth::RequireAndVerify) {
            return Err(invalid(format!(
                "tls_server_config.client_allowed_sans is set but client_auth_type is {}: \
                 a client may come without a certificate, so the list would check nothing; \
                 set client_auth_type to RequireAndVerifyClientCert or RequireAnyClientCert",
                if t.client_auth_type.is_empty() {
                    "NoClientCert"
                } else {
                    &t.client_auth_type
                }
            )));
        }
        Arc::new(AllowedSans {
            inner: verifier,
            allowed: t.client_allowed_sans.clone(),
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

    crate::handshake::handshake_signatures!(checked with algorithms);
}

/// A client certificate that is itself one of the configured CA
/// certificates is taken, as Go's verifier takes it, within its validity
/// period: `openssl req -x509` makes such certificates with `CA:TRUE`, and
/// webpki refuses a CA as an end entity. Everything else is the inner
/// verifier's.
#[derive(Debug)]
struct RootsAsLeaves {
    inner: Arc<dyn ClientCertVerifier>,
    roots: Vec<CertificateDer<'static>>,
}

impl ClientCertVerifier for RootsAsLeaves {
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
        let refused = match self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
        {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        let is_root = self.roots.iter().any(|r| r.as_ref() == end_entity.as_ref());
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        match super::san::validity(end_entity) {
            Some((from, until)) if is_root && (from..=until).contains(&now) => {
                Ok(ClientCertVerified::assertion())
            }
            _ => Err(refused),
        }
    }

    crate::handshake::handshake_signatures!(delegated to inner);
}

/// `client_allowed_sans`, as exporter-toolkit checks it: a client without a
/// certificate is refused whatever `client_auth_type` says, and after the
/// CA check one of the certificate's DNS names, e-mail addresses, IP
/// addresses or URIs must equal an entry of the list, as text.
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        // "No client certificate" is a refusal when the list is set.
        true
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
        let names = subject_alt_names(end_entity).ok_or(rustls::Error::InvalidCertificate(
            rustls::CertificateError::BadEncoding,
        ))?;
        if names.iter().any(|n| self.allowed.contains(n)) {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName,
            ))
        }
    }

    crate::handshake::handshake_signatures!(delegated to inner);
}

/// Where Go looks for the system's roots on Linux (its `certFiles`), after
/// `SSL_CERT_FILE`.
const SYSTEM_ROOT_FILES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The system's root certificates, PEM, as Go finds them.
fn system_roots() -> Result<(String, Vec<u8>), String> {
    let from_env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    from_env
        .into_iter()
        .chain(SYSTEM_ROOT_FILES.iter().map(std::path::PathBuf::from))
        .find_map(|p| std::fs::read(&p).ok().map(|b| (p.display().to_string(), b)))
        .ok_or_else(|| {
            format!(
                "none found (SSL_CERT_FILE, {})",
                SYSTEM_ROOT_FILES.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suites(names: &[&str]) -> Result<Vec<String>, String> {
        let t = TlsFile {
            cipher_suites: names.iter().map(|n| (*n).to_owned()).collect(),
            ..TlsFile::default()
        };
        provider(&t)
            .map(|p| {
                p.cipher_suites
                    .iter()
                    .filter_map(|s| s.suite().as_str().map(str::to_owned))
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn tls_1_3_suite_names_are_taken_as_go_takes_them() {
        let chosen = suites(&[
            "TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ])
        .unwrap();
        assert!(chosen.contains(&"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_owned()));
        // TLS 1.3's suites stay on, named or not; other 1.2 suites are off.
        assert!(
            chosen.contains(&"TLS13_AES_256_GCM_SHA384".to_owned())
                || chosen
                    .iter()
                    .any(|s| s.contains("AES_256_GCM_SHA384") && !s.contains("ECDHE")),
            "{chosen:?}"
        );
        assert!(!chosen.contains(&"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".to_owned()));
        let refused = suites(&["TLS_RSA_WITH_AES_128_CBC_SHA"]).unwrap_err();
        assert!(
            refused.contains("TLS_RSA_WITH_AES_128_CBC_SHA is not supported"),
            "{refused}"
        );
    }
}
