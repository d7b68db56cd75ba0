//! Configuration: the command-line flags and each plugin's `NAME.yml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Errors in flags or a plugin's `NAME.yml`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A `NAME.yml` could not be read.
    #[error("reading {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A `NAME.yml` is not valid YAML or has unknown or malformed fields.
    #[error("parsing {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with line and column.
        message: String,
    },
    /// A size such as `64MiB` could not be parsed.
    #[error(
        "invalid size {0:?}: use a number of bytes or a number with B, KiB, MiB, GiB, KB, MB or GB"
    )]
    Size(String),
    /// A duration such as `5s` could not be parsed.
    #[error(transparent)]
    Duration(#[from] crate::duration::DurationError),
    /// A listen address is not `host:port` or `:port`.
    #[error("--web.listen-address {0:?}: {1}")]
    ListenAddress(String, &'static str),
}

use crate::duration::bare_number;
pub use crate::duration::parse_duration;
use crate::fetch_spec::FetchGrant;

/// Parses `1024`, `64KiB`, `128MiB`, `1GiB`, `10MB`...
pub fn parse_size(s: &str) -> Result<u64, ConfigError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| ConfigError::Size(s.to_owned()))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(ConfigError::Size(s.to_owned())),
    };
    n.checked_mul(mult)
        .ok_or_else(|| ConfigError::Size(s.to_owned()))
}

/// Parses a listen address; `:9114` means all interfaces, IPv6 and IPv4
/// (`[::]:9114`, bound dual-stack where the machine has IPv6, as Go's
/// listener does).
pub fn parse_listen_address(s: &str) -> Result<SocketAddr, ConfigError> {
    let full = if s.starts_with(':') {
        format!("[::]{s}")
    } else {
        s.to_owned()
    };
    full.parse()
        .or_else(|_| {
            use std::net::ToSocketAddrs;
            full.to_socket_addrs()
                .ok()
                .and_then(|mut it| it.next())
                .ok_or(())
        })
        .map_err(|()| {
            let port = s.rsplit_once(':').map(|(_, p)| p.parse::<u64>());
            let why = match port {
                Some(Ok(n)) if n > u64::from(u16::MAX) => "the port is out of range (0-65535)",
                _ => "use host:port or :port",
            };
            ConfigError::ListenAddress(s.to_owned(), why)
        })
}

fn de_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(u64),
        Str(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Int(n)) => Ok(Some(n)),
        Some(Raw::Str(s)) => parse_size(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

/// A duration in Prometheus' syntax; a bare number is refused with the
/// same words as the SDK's `config::duration`, and the parser's error names
/// the key.
fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Float(f64),
        Str(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Int(n)) => Err(serde::de::Error::custom(bare_number(n))),
        Some(Raw::Float(n)) => Err(serde::de::Error::custom(bare_number(n))),
        Some(Raw::Str(s)) => parse_duration(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// The `limits:` section of `NAME.yml`. Every field is optional; an absent
/// field takes the default shown.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Most linear memory the plugin may grow to, as bytes or `64MiB`.
    /// Default: `--plugins.memory-limit` (128MiB). Growing past it makes the
    /// plugin trap (reason `memory`).
    #[serde(default, deserialize_with = "de_size")]
    pub memory: Option<u64>,
    /// Longest a call may run, as `5s` or `500ms`. Default and ceiling:
    /// `--plugins.timeout` (10s); a scrape's own timeout may shorten it.
    #[serde(default, deserialize_with = "de_duration")]
    pub timeout: Option<Duration>,
    /// Most series one collect may return. Default: 1000000. Over it the
    /// whole collect is refused (reason `too_many_series`).
    #[serde(default)]
    pub max_series: Option<usize>,
    /// Most families one collect may return. Default: 10000. Over it the
    /// whole collect is refused (reason `too_many_families`).
    #[serde(default)]
    pub max_families: Option<usize>,
    /// Longest label value, in bytes. Default: 4096. A family with a longer
    /// one is dropped (reason `invalid_output`).
    #[serde(default)]
    pub max_label_value_length: Option<usize>,
    /// Longest label name, in bytes. Default: 256. A family with a longer
    /// one is dropped (reason `invalid_output`).
    #[serde(default)]
    pub max_label_name_length: Option<usize>,
    /// Most bytes the plugin may write to stdout and stderr in one call; the
    /// rest is dropped and counted. Default: 65536.
    #[serde(default, deserialize_with = "de_size")]
    pub max_stderr_bytes: Option<u64>,
    /// Most bytes of log the plugin may write through `host.log` (and the
    /// host on its behalf, for failed fetches) in one call; the rest is
    /// dropped and summed up in one line at the call's end. Default: 64KiB.
    #[serde(default, deserialize_with = "de_size")]
    pub max_log_bytes: Option<u64>,
    /// Most WASI handles (open files, directories, streams) one instance of
    /// the plugin may hold at once: an open past it fails, and the plugin
    /// traps. Default: 256. The host keeps a reserve of descriptors for
    /// itself whatever the plugins ask.
    #[serde(default)]
    pub max_open_files: Option<usize>,
    /// Largest response one `fetch` may return, as bytes or `64MiB`.
    /// Default: 64MiB. A larger one is a `too-large` error.
    #[serde(default, deserialize_with = "de_size")]
    pub max_response_bytes: Option<u64>,
    /// Most `/probe` calls of the plugin running at once, each on an
    /// instance of its own (so up to this many instances, each within
    /// `memory`). Default: 4. A probe that finds every slot busy until its
    /// deadline fails with reason `busy`.
    #[serde(default)]
    pub probe_concurrency: Option<usize>,
}

/// The `grants:` section: what a plugin may reach. Default: nothing.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GrantsSpec {
    /// Targets of the `fetch` capability: `http(s)://host:port/path` URL
    /// patterns (`*` in the path matches anything), `unix:/socket/path`, and
    /// `tcp://host:port`; or mappings of `target:` and the credentials the
    /// host adds for it (`authorization`, `basic_auth`, `http_headers`,
    /// `tls_config`). Default: none.
    #[serde(default)]
    pub fetch: Vec<FetchGrant>,
    /// Host directories the plugin may read, mounted read-only at the same
    /// path: absolute, without `.` or `..`. Nothing can be written, and
    /// symlinks that lead out of a directory are refused. Default: none.
    #[serde(default)]
    pub dirs: Vec<String>,
}

/// One plugin's `NAME.yml`, and each of its `instances:`: config, grants,
/// constant labels and limits. Every section is optional: a plugin without
/// the file gets `{}` as config, no grants and the default limits.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    /// Handed to the plugin's `init` as JSON. Default: `{}`.
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    /// Config keys whose values are read from files (a mounted Secret, a
    /// systemd credential), at load and reload; see `secrets`. Default:
    /// none.
    #[serde(default)]
    pub config_files: std::collections::BTreeMap<String, PathBuf>,
    /// `false` keeps the plugin loaded but never collected. In an instance,
    /// default: the top-level `enabled`, else true.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// What the plugin may reach. Default: nothing.
    #[serde(default)]
    pub grants: GrantsSpec,
    /// Labels added to every series, so that several instances of one
    /// plugin do not collide. Default: none.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Resource limits. In an instance, default: the top-level `limits`.
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
    /// Top level only: several named instances of the same `.wasm`, each
    /// with its own config, grants and labels. The name becomes the
    /// `plugin` label. Default: one instance named after the file.
    #[serde(default)]
    pub instances: std::collections::BTreeMap<String, InstanceSpec>,
}

impl InstanceSpec {
    /// The config as the JSON text `init` receives.
    pub fn config_json(&self) -> String {
        match &self.config {
            None | Some(serde_json::Value::Null) => "{}".to_owned(),
            Some(v) => v.to_string(),
        }
    }
}

/// One plugin's `NAME.yml`: the top-level spec, which may hold
/// `instances:`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Manifest(pub InstanceSpec);

impl Manifest {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::from_read(path, std::fs::read(path))
    }

    /// Parses what reading `path` gave.
    pub fn from_read(path: &Path, read: std::io::Result<Vec<u8>>) -> Result<Self, ConfigError> {
        let bytes = read.map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::parse(&String::from_utf8_lossy(&bytes)).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses the YAML text of a manifest.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Manifest::default());
        }
        // The error names the key that failed (`limits.timeout: ...`).
        let de = serde_norway::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            // serde_norway names the enclosing section itself (`limits: ...`);
            // the full path replaces it.
            let inner = match inner.split_once(": ") {
                Some((head, rest)) if path == head || path.starts_with(&format!("{head}.")) => {
                    rest.to_owned()
                }
                _ => inner,
            };
            // Where the parser stopped before it knew the key, the path ends
            // in `?`: its line and column say where instead.
            let path = path
                .strip_suffix(".?")
                .or_else(|| path.strip_suffix('?'))
                .unwrap_or(&path)
                .to_owned();
            if path == "." || path.is_empty() {
                inner
            } else {
                format!("{path}: {inner}")
            }
        })
    }

    /// The config as the JSON text `init` receives (single instance).
    pub fn config_json(&self) -> String {
        self.0.config_json()
    }

    /// The instances to run, as (name, spec) pairs; `default_name` names
    /// the single instance of a manifest without `instances:`.
    pub fn instances(&self, default_name: &str) -> Result<Vec<(String, InstanceSpec)>, String> {
        let top = &self.0;
        if top.instances.is_empty() {
            return Ok(vec![(default_name.to_owned(), top.clone())]);
        }
        if top.config.is_some()
            || !top.config_files.is_empty()
            || top.grants != GrantsSpec::default()
            || !top.labels.is_empty()
        {
            return Err(
                "with instances:, put config, config_files, grants and labels under each instance"
                    .into(),
            );
        }
        top.instances
            .iter()
            .map(|(name, spec)| {
                let valid = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !valid {
                    return Err(format!(
                        "instance name {name:?}: use letters, digits, _, - and ."
                    ));
                }
                if !spec.instances.is_empty() {
                    return Err(format!(
                        "instances.{name}.instances: instances are named at the top level only"
                    ));
                }
                let mut spec = spec.clone();
                spec.limits = spec.limits.or_else(|| top.limits.clone());
                spec.enabled = spec.enabled.or(top.enabled);
                Ok((name.clone(), spec))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024").ok(), Some(1024));
        assert_eq!(parse_size("64MiB").ok(), Some(64 << 20));
        assert_eq!(parse_size("2 GiB").ok(), Some(2 << 30));
        assert_eq!(parse_size("10MB").ok(), Some(10_000_000));
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }

    #[test]
    fn limits_timeout_takes_the_sdk_grammar_and_names_the_key() {
        let m = Manifest::parse("limits:\n  timeout: 1m30s\n").unwrap();
        assert_eq!(
            m.0.limits.and_then(|l| l.timeout),
            Some(Duration::from_secs(90))
        );
        for (yml, hint) in [
            ("limits:\n  timeout: 10\n", "a number needs a unit"),
            ("limits:\n  timeout: 2.5\n", "a number needs a unit"),
            ("limits:\n  timeout: 1.5s\n", "only whole numbers"),
        ] {
            let e = Manifest::parse(yml).unwrap_err();
            assert!(
                e.contains("limits.timeout") && e.contains(hint),
                "{yml}: {e}"
            );
        }
    }

    #[test]
    fn manifest_with_config_and_limits() {
        let m = Manifest::parse(
            "config:\n  target: http://x/\n  n: [1, 2]\nlimits:\n  memory: 32MiB\n  timeout: 2s\n  max_families: 7\n",
        )
        .unwrap();
        assert_eq!(m.config_json(), r#"{"n":[1,2],"target":"http://x/"}"#);
        let limits = m.0.limits.unwrap();
        assert_eq!(limits.memory, Some(32 << 20));
        assert_eq!(limits.timeout, Some(Duration::from_secs(2)));
        assert_eq!(limits.max_series, None);
        assert_eq!(limits.max_families, Some(7));
    }

    #[test]
    fn manifest_errors_are_clear() {
        let typo = Manifest::parse("limits:\n  memroy: 1MiB\n").unwrap_err();
        assert!(typo.contains("unknown field `memroy`"), "{typo}");
        let bad = Manifest::parse("limits:\n  memory: lots\n").unwrap_err();
        assert!(bad.contains("invalid size"), "{bad}");
        let broken = Manifest::parse("config: [unclosed\n").unwrap_err();
        assert!(broken.contains("line 2"), "{broken}");
        assert_eq!(Manifest::parse("").ok(), Some(Manifest::default()));
        // A syntax error inside a key names the key it is under, no `?`.
        let syntax = Manifest::parse("config:\n  a: b: c\n").unwrap_err();
        assert!(syntax.starts_with("config: mapping values"), "{syntax}");
        assert_eq!(
            Manifest::parse("config:\n").ok().map(|m| m.config_json()),
            Some("{}".into())
        );
    }

    #[test]
    fn instances_and_their_rules() {
        let m = Manifest::parse(
            "limits: {timeout: 3s}\ninstances:\n  edge:\n    config: {scrape_uri: 'unix:/a'}\n    grants: {fetch: ['unix:/a']}\n    labels: {site: edge}\n  core:\n    limits: {timeout: 1s}\n",
        )
        .unwrap();
        let instances = m.instances("haproxy").unwrap();
        let names: Vec<&str> = instances.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["core", "edge"]);
        let edge = &instances[1].1;
        assert_eq!(edge.grants.fetch, [FetchGrant::from("unix:/a")]);
        assert_eq!(edge.labels.get("site").map(String::as_str), Some("edge"));
        assert_eq!(
            edge.limits.as_ref().and_then(|l| l.timeout),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            instances[0].1.limits.as_ref().and_then(|l| l.timeout),
            Some(Duration::from_secs(1))
        );
        let single = Manifest::parse("labels: {a: b}\n").unwrap();
        assert_eq!(single.instances("x").map(|v| v.len()), Ok(1));
        let mixed = Manifest::parse("config: {}\ninstances:\n  a: {}\n").unwrap();
        assert!(
            mixed
                .instances("x")
                .unwrap_err()
                .contains("under each instance")
        );
        let nested = Manifest::parse("instances:\n  a:\n    instances:\n      b: {}\n").unwrap();
        assert_eq!(
            nested.instances("x").unwrap_err(),
            "instances.a.instances: instances are named at the top level only"
        );
        let bad = Manifest::parse("instances:\n  'a b': {}\n").unwrap();
        assert!(
            bad.instances("x")
                .unwrap_err()
                .contains("instance name \"a b\"")
        );
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen_address(":9100").unwrap(),
            "[::]:9100".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_listen_address("127.0.0.1:0").unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 0))
        );
        assert!(parse_listen_address("nonsense").is_err());
    }
}
