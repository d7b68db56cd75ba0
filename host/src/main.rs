//! The `wasm_exporter` binary: parse flags, load the plugins, serve.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;

use wasm_exporter::catalogue::Catalogue;
use wasm_exporter::cli::Flags;
use wasm_exporter::config::{self, HostDefaults};
use wasm_exporter::gather::Gatherer;
use wasm_exporter::http::{self, App, WebSettings};
use wasm_exporter::runtime::Runtime;
use wasm_exporter::webconfig::WebConfig;
use wasm_exporter::{logging, reload};

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
    let web_config = match &flags.web_config_file {
        Some(path) => {
            let config = WebConfig::load(path)
                .with_context(|| format!("--web.config.file {}", path.display()))?;
            tracing::info!(file = %path.display(), tls = config.tls(), "web config loaded");
            Some(Arc::new(config))
        }
        None => None,
    };
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
            web_config,
        }));
        let listeners = if flags.systemd_socket {
            http::systemd_listeners()?
        } else {
            http::bind(&addresses).await?
        };
        for l in &listeners {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(address = %addr, "listening");
            }
        }
        let server = tokio::spawn(http::serve(listeners, Arc::clone(&app), shutdown_signal()));

        let dir = flags.plugins_dir.clone();
        let cache_dir = flags
            .plugins_cache_dir
            .clone()
            .filter(|d| !d.as_os_str().is_empty());
        let loaded = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let wasm = match &cache_dir {
                Some(dir) => Runtime::with_cache_dir(dir)?,
                None => Runtime::new()?,
            };
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
