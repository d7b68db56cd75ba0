//! Log setup: `--log.level` and `--log.format` (logfmt or json), to stderr.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `key=value` pairs, as Prometheus components log.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Minimum level logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Level {
    /// Everything, plugin debug records included.
    Debug,
    /// Normal operation.
    Info,
    /// Problems only.
    Warn,
    /// Failures only.
    Error,
}

impl Level {
    fn directive(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Installs the global subscriber. Dependencies' logs are kept at `warn`.
pub fn init(level: Level, format: Format) {
    let filter = EnvFilter::new(format!("warn,wasm_exporter={0}", level.directive()));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        Format::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .with_span_name(false)
                    .with_span_path(false)
                    .with_target(false)
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        Format::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // Already installed (tests); keep the first.
    drop(result);
}
