//! The TLS client of `fetch`: webpki roots, or no verification at all when
//! a plugin's request turns it off (`ssl_verify: false`).

use std::sync::{Arc, OnceLock};

pub(super) fn tls_config(verify: bool) -> Arc<rustls::ClientConfig> {
    static VERIFIED: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    static UNVERIFIED: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let provider = || Arc::new(rustls::crypto::ring::default_provider());
    if verify {
        VERIFIED
            .get_or_init(|| {
                let roots = rustls::RootCertStore::from_iter(
                    webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
                );
                let config = rustls::ClientConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()
                    .map(|b| b.with_root_certificates(roots).with_no_client_auth());
                Arc::new(config.unwrap_or_else(|_| empty_config()))
            })
            .clone()
    } else {
        UNVERIFIED
            .get_or_init(|| {
                let config = rustls::ClientConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()
                    .map(|b| {
                        b.dangerous()
                            .with_custom_certificate_verifier(Arc::new(NoVerification {
                                algorithms: provider().signature_verification_algorithms,
                            }))
                            .with_no_client_auth()
                    });
                Arc::new(config.unwrap_or_else(|_| empty_config()))
            })
            .clone()
    }
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
