//! The shape of `grants.fetch` entries in a plugin's `NAME.yml`: a target
//! pattern, or a mapping of `target:` and the credentials the host adds to
//! the requests it allows (the names of Prometheus's `http_config`:
//! `authorization`, `basic_auth`, `http_headers`, `tls_config`). Secrets
//! come from files only, so that `NAME.yml` holds none. The runtime reads
//! and applies them (`runtime::fetch::credentials`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// `authorization:` of a grant, as in Prometheus's `http_config`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationSpec {
    /// The scheme: `Bearer` when left out.
    #[serde(default = "bearer", rename = "type")]
    pub kind: String,
    /// The file holding the credentials (the token).
    pub credentials_file: PathBuf,
}

fn bearer() -> String {
    "Bearer".to_owned()
}

/// `basic_auth:` of a grant.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthSpec {
    /// The user name (not a secret).
    pub username: String,
    /// The file holding the password.
    pub password_file: PathBuf,
}

/// One header of `http_headers:`: its value read from a file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HeaderSpec {
    /// Files, one value each, sent in order.
    pub files: Vec<PathBuf>,
}

/// `tls_config:` of a grant.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// CA certificates (PEM) to verify the server with, instead of the
    /// built-in web roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM), with `key_file`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The name the server's certificate must carry (and SNI), when it is
    /// not the target's host.
    #[serde(default)]
    pub server_name: Option<String>,
    /// Do not verify the server's certificate.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// One entry of `grants.fetch` written as a mapping: the target pattern
/// and the credentials the host adds to the requests it allows.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FetchGrantSpec {
    /// The target pattern, as a plain entry of `grants.fetch` is.
    pub target: String,
    /// `Authorization: TYPE CREDENTIALS`.
    #[serde(default)]
    pub authorization: Option<AuthorizationSpec>,
    /// `Authorization: Basic ...`.
    #[serde(default)]
    pub basic_auth: Option<BasicAuthSpec>,
    /// Other headers, each from files.
    #[serde(default)]
    pub http_headers: BTreeMap<String, HeaderSpec>,
    /// TLS towards the targets of this grant.
    #[serde(default)]
    pub tls_config: Option<TlsSpec>,
}

impl FetchGrantSpec {
    /// Whether the grant carries anything beside its target.
    pub fn has_credentials(&self) -> bool {
        self.authorization.is_some()
            || self.basic_auth.is_some()
            || !self.http_headers.is_empty()
            || self.tls_config.is_some()
    }
}

/// One entry of `grants.fetch`: a target pattern (`"http://host:port/*"`)
/// or a mapping with `target:` and credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchGrant(pub FetchGrantSpec);

impl From<&str> for FetchGrant {
    fn from(target: &str) -> Self {
        FetchGrant(FetchGrantSpec {
            target: target.to_owned(),
            ..FetchGrantSpec::default()
        })
    }
}

impl<'de> Deserialize<'de> for FetchGrant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = FetchGrant;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a target (http://host:port/path, unix:/path, tcp://host:port) or a mapping with target: and credentials")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FetchGrant, E> {
                Ok(FetchGrant::from(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<FetchGrant, A::Error> {
                FetchGrantSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(FetchGrant)
            }
        }
        d.deserialize_any(Entry)
    }
}
