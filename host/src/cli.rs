//! Command-line flags, shared by the binary and the man page generator
//! (`make man`). Names follow the Prometheus exporters: `--web.*`,
//! `--log.*`, and `--plugins.*` for what is ours.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::exposition::escape::Escaping;
use crate::exposition::negotiate::{Format, Negotiated};
use crate::runtime::limits::HostDefaults;
use crate::{config, logging};

/// Flags that parse but do not fit together.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A `--web.listen-address` is not `host:port` or `:port` (the
    /// message names the flag).
    #[error(transparent)]
    ListenAddress(#[from] config::ConfigError),
    /// `--web.telemetry-path` names a path another endpoint serves.
    #[error("--web.telemetry-path {0} is taken by another endpoint")]
    TelemetryPath(String),
}

/// The IP socket options given as flags; `None` where not given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpSocketFlags {
    /// `--web.ipv4-ttl`.
    pub ipv4_ttl: Option<u8>,
    /// `--web.ipv6-hop-limit`.
    pub ipv6_hop_limit: Option<u8>,
    /// `--web.dscp`.
    pub dscp: Option<u8>,
}

/// The flags, checked and resolved: what the binary wires together.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Addresses to listen on (unless systemd passes sockets).
    pub addresses: Vec<SocketAddr>,
    /// Take the listening sockets from systemd.
    pub systemd_socket: bool,
    /// `--web.config.file`.
    pub web_config_file: Option<PathBuf>,
    /// The metrics path, starting with `/`.
    pub telemetry_path: String,
    /// Subtracted from a scrape's timeout header.
    pub timeout_offset: Duration,
    /// Most metrics requests served at once; 0 for no limit.
    pub max_requests: usize,
    /// Whether `POST /-/reload` is served.
    pub enable_lifecycle: bool,
    /// Whether the metrics about the exporter itself are served.
    pub exporter_metrics: bool,
    /// `--web.ipv4-ttl`, `--web.ipv6-hop-limit` and `--web.dscp`, which
    /// override the web config's `ip_socket_config`.
    pub ip_socket: IpSocketFlags,
    /// Plugins loaded but never collected.
    pub disabled: Vec<String>,
    /// The plugins directory.
    pub plugins_dir: PathBuf,
    /// Whether to watch it for changes.
    pub watch: bool,
    /// Where compiled plugins are kept, if anywhere.
    pub cache_dir: Option<PathBuf>,
    /// Limits plugins fall back to.
    pub defaults: HostDefaults,
}

impl Flags {
    /// Checks the flags together and resolves them into [`Settings`].
    pub fn settings(&self) -> Result<Settings, SettingsError> {
        let addresses = self
            .listen_address
            .iter()
            .map(|a| config::parse_listen_address(a))
            .collect::<Result<_, _>>()?;
        let telemetry_path = if self.telemetry_path.starts_with('/') {
            self.telemetry_path.clone()
        } else {
            format!("/{}", self.telemetry_path)
        };
        if matches!(
            telemetry_path.as_str(),
            "/" | "/-/healthy" | "/-/ready" | "/-/reload"
        ) {
            return Err(SettingsError::TelemetryPath(telemetry_path));
        }
        Ok(Settings {
            addresses,
            systemd_socket: self.systemd_socket && !self.no_systemd_socket,
            web_config_file: self.web_config_file.clone(),
            telemetry_path,
            timeout_offset: self.timeout_offset,
            max_requests: self.max_requests,
            enable_lifecycle: self.enable_lifecycle && !self.no_enable_lifecycle,
            exporter_metrics: !self.disable_exporter_metrics || self.no_disable_exporter_metrics,
            ip_socket: IpSocketFlags {
                ipv4_ttl: self.ipv4_ttl,
                ipv6_hop_limit: self.ipv6_hop_limit,
                dscp: self.dscp,
            },
            disabled: self.plugins_disable.clone(),
            plugins_dir: self.plugins_dir.clone(),
            watch: self.plugins_watch && !self.no_plugins_watch,
            cache_dir: self.plugins_cache_dir.clone(),
            defaults: HostDefaults {
                memory: self.plugins_memory_limit,
                timeout: self.plugins_timeout,
            },
        })
    }
}

/// Prometheus exporter whose collectors are sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(
    name = "wasm_exporter",
    version,
    about,
    disable_version_flag = true,
    long_about = "Prometheus exporter whose collectors are sandboxed WebAssembly plugins.\n\n\
        Loads every WASI 0.2 component (NAME.wasm, with an optional NAME.yml) in \
        --plugins.dir, calls each plugin's collect on every scrape and serves the \
        merged samples on --web.telemetry-path.",
    override_usage = "wasm_exporter [<flags>]\n       wasm_exporter check PLUGIN.wasm [--config NAME.yml] [--scrapes N] [--format text|openmetrics] [--escaping SCHEME] [--json] [--cache-dir DIR] [--respond TARGET=FILE]...\n       wasm_exporter plugin new NAME [--lang rust|python|js|go] [--dir DIR]\n       wasm_exporter plugin componentize IN.wasm -o OUT.wasm",
    help_template = "{about-with-newline}\nusage: {usage}\n\nFlags:\n{options}\nCommands:\n{subcommands}{after-help}"
)]
pub struct Flags {
    /// Address to listen on, as host:port or :port. Repeat for several.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = ":10157"
    )]
    pub listen_address: Vec<String>,

    /// Use systemd socket activation listeners instead of
    /// --web.listen-address (Linux only).
    #[arg(long = "web.systemd-socket", overrides_with = "no_systemd_socket")]
    pub systemd_socket: bool,
    #[arg(long = "no-web.systemd-socket", hide = true)]
    #[doc(hidden)]
    pub no_systemd_socket: bool,

    /// Path to a configuration file that can enable TLS or authentication
    /// (the Prometheus exporter-toolkit format).
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,

    /// IPv4 TTL of the packets the exporter sends (1-255); overrides the
    /// web config's ip_socket_config.ipv4_ttl.
    #[arg(long = "web.ipv4-ttl", env = "WEB_IPV4_TTL", value_name = "TTL", value_parser = clap::value_parser!(u8).range(1..=255))]
    pub ipv4_ttl: Option<u8>,

    /// IPv6 hop limit of the packets the exporter sends (1-255); overrides
    /// the web config's ip_socket_config.ipv6_hop_limit.
    #[arg(long = "web.ipv6-hop-limit", env = "WEB_IPV6_HOP_LIMIT", value_name = "HOPS", value_parser = clap::value_parser!(u8).range(1..=255))]
    pub ipv6_hop_limit: Option<u8>,

    /// DSCP codepoint of the packets the exporter sends (0-63); overrides
    /// the web config's ip_socket_config.dscp.
    #[arg(long = "web.dscp", env = "WEB_DSCP", value_name = "DSCP", value_parser = clap::value_parser!(u8).range(0..=63))]
    pub dscp: Option<u8>,

    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,

    /// Subtracted from Prometheus' X-Prometheus-Scrape-Timeout-Seconds to get
    /// the plugins' deadline.
    #[arg(long = "web.timeout-offset", value_name = "DURATION", default_value = "500ms", value_parser = duration)]
    pub timeout_offset: Duration,

    /// Enable the lifecycle endpoint: POST /-/reload reloads the plugins,
    /// behind the same TLS and basic auth as every path. SIGHUP and the
    /// directory watch reload without it.
    #[arg(long = "web.enable-lifecycle", overrides_with = "no_enable_lifecycle")]
    pub enable_lifecycle: bool,
    #[arg(long = "no-web.enable-lifecycle", hide = true)]
    #[doc(hidden)]
    pub no_enable_lifecycle: bool,

    /// Exclude metrics about the exporter itself (process_*, promhttp_*);
    /// the plugins' status metrics stay.
    #[arg(
        long = "web.disable-exporter-metrics",
        overrides_with = "no_disable_exporter_metrics"
    )]
    pub disable_exporter_metrics: bool,
    #[arg(long = "no-web.disable-exporter-metrics", hide = true)]
    #[doc(hidden)]
    pub no_disable_exporter_metrics: bool,

    /// Most scrapes of the metrics path served at once; more get 503 at
    /// once. 0 means no limit.
    #[arg(long = "web.max-requests", value_name = "N", default_value_t = 40)]
    pub max_requests: usize,

    /// Directory holding the plugins (NAME.wasm, with an optional NAME.yml).
    #[arg(
        long = "plugins.dir",
        value_name = "DIR",
        default_value = "./plugins.d"
    )]
    pub plugins_dir: PathBuf,

    /// Watch the plugins directory and reload on changes (reloads also
    /// happen on SIGHUP and POST /-/reload). --no-plugins.watch turns it off.
    #[arg(
        long = "plugins.watch",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        value_name = "BOOL",
        overrides_with = "no_plugins_watch"
    )]
    pub plugins_watch: bool,
    #[arg(long = "no-plugins.watch", hide = true)]
    #[doc(hidden)]
    pub no_plugins_watch: bool,

    /// Directory for compiled plugins, so that starts and reloads skip
    /// compiling unchanged ones. Code is only kept where nobody else can
    /// write: in a directory others can write, a private subdirectory is
    /// used. Off when not given.
    #[arg(long = "plugins.cache-dir", value_name = "DIR")]
    pub plugins_cache_dir: Option<PathBuf>,

    /// Keep the plugin (an instance name) loaded but never collect it.
    /// Repeat for several; `enabled: false` in NAME.yml does the same.
    #[arg(long = "plugins.disable", value_name = "NAME")]
    pub plugins_disable: Vec<String>,

    /// Longest a plugin call may take; a plugin's own limits.timeout and the
    /// scrape's timeout can only shorten it.
    #[arg(long = "plugins.timeout", value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub plugins_timeout: Duration,

    /// Default memory limit of each plugin, unless its NAME.yml sets
    /// limits.memory.
    #[arg(long = "plugins.memory-limit", value_name = "SIZE", default_value = "128MiB", value_parser = size)]
    pub plugins_memory_limit: u64,

    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", value_enum, default_value = "info", global = true)]
    pub log_level: logging::Level,

    /// Output format of log messages.
    #[arg(
        long = "log.format",
        value_enum,
        default_value = "logfmt",
        global = true
    )]
    pub log_format: logging::Format,

    /// Show the version, its build and exit.
    #[arg(long = "version")]
    pub version: bool,

    /// A command instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary can do besides serving.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Load one plugin with the real runtime and limits, run init and N
    /// collects, print the exposition on stdout and on stderr what the
    /// exporter would drop (family, rule, fix) and the plugin's log lines.
    /// Exit 0: clean; 1: something dropped; 2: load, init or collect failed.
    Check(CheckArgs),
    /// Plugin authoring.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

/// `wasm_exporter plugin ...`.
#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Write a ready plugin project NAME/: a collector reading a JSON API
    /// through fetch, NAME.yml, a README, tests, and a build whose default
    /// target writes NAME.wasm.
    New(NewArgs),
    /// Make a WASI preview1 core module (Go's `GOOS=wasip1 GOARCH=wasm
    /// -buildmode=c-shared` output) a component of the current contract:
    /// the contract's WIT embedded and WASI adapted, no other tool needed.
    Componentize(ComponentizeArgs),
}

/// `wasm_exporter plugin componentize`.
#[derive(Debug, Clone, clap::Args)]
pub struct ComponentizeArgs {
    /// The core module.
    #[arg(value_name = "IN.wasm")]
    pub input: PathBuf,
    /// Where to write the component.
    #[arg(short = 'o', long = "output", value_name = "OUT.wasm")]
    pub output: PathBuf,
}

/// `wasm_exporter plugin new`.
#[derive(Debug, Clone, clap::Args)]
pub struct NewArgs {
    /// The plugin's name: its package, NAME.wasm, NAME.yml and metric
    /// prefix.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Language of the project: rust (the wasm-exporter-sdk crate), python
    /// (componentize-py), js (componentize-js) or go (client_golang, stock
    /// Go and plugin componentize).
    #[arg(long = "lang", value_enum, default_value = "rust")]
    pub lang: crate::scaffold::Lang,

    /// Directory to create NAME/ in.
    #[arg(long = "dir", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// `wasm_exporter check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The plugin component.
    #[arg(value_name = "PLUGIN.wasm")]
    pub wasm: PathBuf,

    /// Its NAME.yml (default: the one beside the .wasm, if any).
    #[arg(long = "config", value_name = "NAME.yml")]
    pub config: Option<PathBuf>,

    /// Collects per instance.
    #[arg(long = "scrapes", value_name = "N", default_value_t = 1)]
    pub scrapes: u32,

    /// Format of the exposition on stdout.
    #[arg(long = "format", value_enum, default_value = "text")]
    pub format: ExpositionFormat,

    /// How names outside the legacy character set are written, as a
    /// scraper negotiates it: allow-utf-8 (quoted), underscores, dots or
    /// values.
    #[arg(long = "escaping", value_name = "SCHEME", default_value = "underscores", value_parser = escaping)]
    pub escaping: Escaping,

    /// Print the whole report as JSON on stdout instead (exposition
    /// included).
    #[arg(long = "json")]
    pub json: bool,

    /// Keep the compiled plugin in DIR, as --plugins.cache-dir does, so that
    /// the next check of the same file (a Python or JavaScript plugin
    /// carries its interpreter) loads at once instead of compiling again.
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Answer the plugin's fetch of TARGET with the contents of FILE (status
    /// 200, or S with TARGET=S:FILE) instead of reaching it; the target
    /// counts as granted. Repeat for more targets.
    #[arg(long = "respond", value_name = "TARGET=FILE", value_parser = standin)]
    pub respond: Vec<Standin>,
}

/// One `--respond TARGET=[STATUS:]FILE` of `check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standin {
    /// The target, exactly as the plugin passes it to `fetch`.
    pub target: String,
    /// The status answered; default 200 (0 for a `unix:` or `tcp://`
    /// target).
    pub status: u16,
    /// The file whose bytes are the body.
    pub file: PathBuf,
}

/// Parses `TARGET=FILE` or `TARGET=STATUS:FILE`.
pub fn standin(spec: &str) -> Result<Standin, String> {
    let (target, file) = spec
        .rsplit_once('=')
        .ok_or_else(|| format!("{spec:?}: use TARGET=FILE or TARGET=STATUS:FILE"))?;
    let socket = target.starts_with("unix:") || target.starts_with("tcp://");
    let (status, file) = match file.split_once(':') {
        Some((s, f)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => (
            s.parse()
                .map_err(|_| format!("{spec:?}: {s} is not an HTTP status"))?,
            f,
        ),
        _ => (if socket { 0 } else { 200 }, file),
    };
    if target.is_empty() || file.is_empty() {
        return Err(format!("{spec:?}: use TARGET=FILE or TARGET=STATUS:FILE"));
    }
    Ok(Standin {
        target: target.to_owned(),
        status,
        file: PathBuf::from(file),
    })
}

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExpositionFormat {
    /// Prometheus text 0.0.4.
    Text,
    /// OpenMetrics 1.0.
    Openmetrics,
}

impl ExpositionFormat {
    /// The format and escaping a scraper asking for this format with
    /// `escaping` would get: quoted UTF-8 names need text 1.0.0.
    pub fn negotiated(self, escaping: Escaping) -> Negotiated {
        let format = match (self, escaping) {
            (ExpositionFormat::Text, Escaping::AllowUtf8) => Format::Text1,
            (ExpositionFormat::Text, _) => Format::Text,
            (ExpositionFormat::Openmetrics, _) => Format::OpenMetrics { legacy: false },
        };
        Negotiated { format, escaping }
    }
}

/// Parses an escaping scheme (`--escaping`).
pub fn escaping(s: &str) -> Result<Escaping, String> {
    Escaping::parse(s).ok_or_else(|| {
        format!("unknown escaping scheme {s:?}: use allow-utf-8, underscores, dots or values")
    })
}

/// Parses a duration flag (`500ms`, `10s`, `1m`).
pub fn duration(s: &str) -> Result<Duration, String> {
    config::parse_duration(s).map_err(|e| e.to_string())
}

/// Parses a size flag (`128MiB`).
pub fn size(s: &str) -> Result<u64, String> {
    config::parse_size(s).map_err(|e| e.to_string())
}

/// `--version`, in the multi-line form of the Prometheus tools.
pub fn version() -> String {
    format!(
        "wasm_exporter, version {} (branch: {}, revision: {})\n  build date:       {}\n  rust version:     {}\n  wasmtime version: {}\n  platform:         {}/{}\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("WASM_EXPORTER_BRANCH").unwrap_or("unknown"),
        option_env!("WASM_EXPORTER_REVISION").unwrap_or("unknown"),
        env!("WASM_EXPORTER_BUILD_DATE"),
        env!("WASM_EXPORTER_RUSTC"),
        crate::runtime::limits::WASMTIME_VERSION,
        std::env::consts::OS,
        std::env::consts::ARCH,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_like_the_exporters() {
        let f = Flags::try_parse_from([
            "wasm_exporter",
            "--web.listen-address=:1",
            "--web.listen-address",
            "127.0.0.1:2",
            "--web.config.file",
            "web.yml",
            "--plugins.timeout=2s",
            "--web.telemetry-path=metrics",
        ])
        .unwrap();
        assert_eq!(f.listen_address, [":1", "127.0.0.1:2"]);
        assert_eq!(
            f.web_config_file.as_deref(),
            Some(std::path::Path::new("web.yml"))
        );
        let s = f.settings().unwrap();
        assert_eq!(s.defaults.timeout, Duration::from_secs(2));
        assert_eq!(s.addresses[1], SocketAddr::from(([127, 0, 0, 1], 2)));
        assert_eq!(s.addresses[0].port(), 1);
        assert_eq!(s.telemetry_path, "/metrics");
        assert_eq!(s.cache_dir, None);
    }

    #[test]
    fn boolean_flags_take_the_no_form_and_the_last_one_wins() {
        let settings = |args: &[&str]| {
            Flags::try_parse_from(std::iter::once("wasm_exporter").chain(args.iter().copied()))
                .unwrap()
                .settings()
                .unwrap()
        };
        assert!(settings(&[]).watch);
        assert!(!settings(&["--no-plugins.watch"]).watch);
        assert!(!settings(&["--plugins.watch=false"]).watch);
        assert!(settings(&["--plugins.watch"]).watch);
        assert!(settings(&["--no-plugins.watch", "--plugins.watch"]).watch);
        assert!(!settings(&["--plugins.watch", "--no-plugins.watch"]).watch);
        assert!(settings(&["--web.enable-lifecycle"]).enable_lifecycle);
        // Every boolean takes --no-, the last one given winning.
        assert!(!settings(&["--web.disable-exporter-metrics"]).exporter_metrics);
        assert!(
            settings(&[
                "--web.disable-exporter-metrics",
                "--no-web.disable-exporter-metrics"
            ])
            .exporter_metrics
        );
        assert!(
            !settings(&[
                "--no-web.disable-exporter-metrics",
                "--web.disable-exporter-metrics"
            ])
            .exporter_metrics
        );
        assert!(
            !settings(&["--web.enable-lifecycle", "--no-web.enable-lifecycle"]).enable_lifecycle
        );
        assert!(!settings(&["--web.systemd-socket", "--no-web.systemd-socket"]).systemd_socket);
    }

    #[test]
    fn version_in_the_prometheus_tools_form() {
        let v = version();
        let lines: Vec<&str> = v.lines().collect();
        assert!(
            lines[0].starts_with(&format!(
                "wasm_exporter, version {} (branch: ",
                env!("CARGO_PKG_VERSION")
            )),
            "{v}"
        );
        for key in [
            "build date:",
            "rust version:",
            "wasmtime version: 48.",
            "platform:",
        ] {
            assert!(
                lines.iter().any(|l| l.trim_start().starts_with(key)),
                "{key}: {v}"
            );
        }
    }

    #[test]
    fn settings_refuse_what_does_not_fit() {
        let settings = |args: &[&str]| {
            Flags::try_parse_from(std::iter::once("wasm_exporter").chain(args.iter().copied()))
                .unwrap()
                .settings()
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            settings(&["--web.telemetry-path=/-/ready"]),
            "--web.telemetry-path /-/ready is taken by another endpoint"
        );
        assert_eq!(
            settings(&["--web.listen-address=nonsense"]),
            "--web.listen-address \"nonsense\": use host:port or :port"
        );
        assert_eq!(
            settings(&["--web.listen-address=:99999"]),
            "--web.listen-address \":99999\": the port is out of range (0-65535)"
        );
        let e = Flags::try_parse_from(["wasm_exporter", "--plugins.timeout=10"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("a number needs a unit"), "{e}");
    }
}
