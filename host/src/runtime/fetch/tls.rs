//! The TLS client of `fetch`: webpki roots, or no verification at all when
//! a plugin's request turns it off (`ssl_verify: false`); a grant's own CA
//! and client certificate (`credentials`) are built here too.

use std::sync::{Arc, OnceLock};

/// The client's TLS for targets whose grant sets none: the web roots, or no
/// verification at all.
pub(super) fn tls_config(verify: bool) -> Arc<rustls::ClientConfig> {
    static VERIFIED: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    static UNVERIFIED: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let slot = if verify { &VERIFIED } else { &UNVERIFIED };
    slot.get_or_init(|| {
        client_config(verify, webpki_roots(), None).unwrap_or_else(|_| Arc::new(empty_config()))
    })
    .clone()
}

/// The built-in web roots.
pub(super) fn webpki_roots() -> rustls::RootCertStore {
    rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned())
}

/// A client config: verifying against `roots` or not verifying, with a
/// client certificate when `identity` is given.
pub(super) fn client_config(
    verify: bool,
    roots: rustls::RootCertStore,
    identity: Option<(
        Vec<rustls::pki_types::CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    )>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = || Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if verify {
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification {
                algorithms: provider().signature_verification_algorithms,
            }))
    };
    let config = match identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("tls_config: client certificate: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// A config that trusts nothing; only used if the provider cannot be set up.
fn empty_config() -> rustls::ClientConfig {
    rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

/// Accepts any certificate (haproxy_exporter's `--no-haproxy.ssl-verify`),
/// still checking that the handshake signatures are valid.
#[derive(Debug)]
struct NoVerification {
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    crate::handshake::handshake_signatures!(checked with algorithms);
}
