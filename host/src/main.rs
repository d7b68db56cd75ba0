//! The `wasm_exporter` binary: parse flags, load the plugins, serve.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

use wasm_exporter::catalogue::Catalogue;
use wasm_exporter::config::{self, HostDefaults};
use wasm_exporter::gather::Gatherer;
use wasm_exporter::http::{self, App, WebSettings};
use wasm_exporter::runtime::Runtime;
use wasm_exporter::{logging, reload};

/// Prometheus exporter whose collectors are sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "wasm_exporter", version, about)]
struct Flags {
    /// Address to listen on, as host:port or :port. Repeat for several.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = ":10157"
    )]
    listen_address: Vec<String>,

    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics"
    )]
    telemetry_path: String,

    /// Subtracted from Prometheus' X-Prometheus-Scrape-Timeout-Seconds to get
    /// the plugins' deadline.
    #[arg(long = "web.timeout-offset", value_name = "DURATION", default_value = "500ms", value_parser = duration)]
    timeout_offset: Duration,

    /// Most scrapes of the metrics path served at once; more get 503 at
    /// once. 0 means no limit.
    #[arg(long = "web.max-requests", value_name = "N", default_value_t = 40)]
    max_requests: usize,

    /// Directory holding the plugins (NAME.wasm, with an optional NAME.yml).
    #[arg(
        long = "plugins.dir",
        value_name = "DIR",
        default_value = "./plugins.d"
    )]
    plugins_dir: PathBuf,

    /// Watch the plugins directory and reload on changes (reloads also
    /// happen on SIGHUP and POST /-/reload).
    #[arg(long = "plugins.watch", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    plugins_watch: bool,

    /// Longest a plugin call may take; a plugin's own limits.timeout and the
    /// scrape's timeout can only shorten it.
    #[arg(long = "plugins.timeout", value_name = "DURATION", default_value = "10s", value_parser = duration)]
    plugins_timeout: Duration,

    /// Default memory limit of each plugin, unless its NAME.yml sets
    /// limits.memory.
    #[arg(long = "plugins.memory-limit", value_name = "SIZE", default_value = "128MiB", value_parser = size)]
    plugins_memory_limit: u64,

    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", value_enum, default_value = "info")]
    log_level: logging::Level,

    /// Output format of log messages.
    #[arg(long = "log.format", value_enum, default_value = "logfmt")]
    log_format: logging::Format,
}

fn duration(s: &str) -> Result<Duration, String> {
    config::parse_duration(s).map_err(|e| e.to_string())
}

fn size(s: &str) -> Result<u64, String> {
    config::parse_size(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    logging::init(flags.log_level, flags.log_format);
    match run(flags) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("wasm_exporter: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: Flags) -> anyhow::Result<ExitCode> {
    let addresses: Vec<SocketAddr> = flags
        .listen_address
        .iter()
        .map(|a| config::parse_listen_address(a))
        .collect::<Result<_, _>>()?;
    let telemetry_path = if flags.telemetry_path.starts_with('/') {
        flags.telemetry_path.clone()
    } else {
        format!("/{}", flags.telemetry_path)
    };
    anyhow::ensure!(
        !matches!(telemetry_path.as_str(), "/" | "/-/healthy" | "/-/ready"),
        "--web.telemetry-path {telemetry_path} is taken by another endpoint"
    );
    let defaults = HostDefaults {
        memory: flags.plugins_memory_limit,
        timeout: flags.plugins_timeout,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("wasm_exporter")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let app = Arc::new(App::new(WebSettings {
            telemetry_path,
            timeout_offset: flags.timeout_offset,
            max_requests: flags.max_requests,
        }));
        let listeners = http::bind(&addresses).await?;
        for l in &listeners {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(address = %addr, "listening");
            }
        }
        let server = tokio::spawn(http::serve(listeners, Arc::clone(&app), shutdown_signal()));

        let dir = flags.plugins_dir.clone();
        let loaded = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let wasm = Runtime::new()?;
            let catalogue = Catalogue::load(&wasm, &dir, &defaults)?;
            Ok((wasm, catalogue))
        })
        .await
        .context("loading plugins")?;
        let (wasm, catalogue) = match loaded {
            Ok(loaded) => loaded,
            Err(e) => {
                server.abort();
                return Err(e);
            }
        };
        tracing::info!(
            dir = %flags.plugins_dir.display(),
            plugins = catalogue.plugins.len(),
            "plugins loaded, ready"
        );
        let gatherer = Arc::new(Gatherer::new(wasm, Arc::new(catalogue)));
        app.set_gatherer(Arc::clone(&gatherer));
        let trigger = reload::spawn(
            gatherer,
            flags.plugins_dir.clone(),
            defaults,
            flags.plugins_watch,
        );
        app.set_reload(trigger);
        server.await.context("HTTP server")?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot watch SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = term => tracing::info!("received SIGTERM, shutting down"),
        r = tokio::signal::ctrl_c() => match r {
            Ok(()) => tracing::info!("received SIGINT, shutting down"),
            Err(e) => {
                tracing::warn!("cannot watch SIGINT: {e}");
                std::future::pending::<()>().await;
            }
        },
    }
}
