//! The `wasm_exporter` binary: parse the flags into settings, then serve
//! (load the plugins, listen) or run a command (`check`, `plugin new`).
//! Each part is built elsewhere; this file only wires them together and
//! reports an error once.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;

use wasm_exporter::catalogue::Plugins;
use wasm_exporter::check::{CheckOptions, check};
use wasm_exporter::cli::{
    CheckArgs, Command, ComponentizeArgs, Flags, NewArgs, PluginCommand, Settings,
};
use wasm_exporter::http::{self, App, WebSettings};
use wasm_exporter::runtime::{Runtime, engine};
use wasm_exporter::scrape::Scraper;
use wasm_exporter::selfmetrics::SelfMetrics;
use wasm_exporter::webconfig::{SocketOptions, WebConfig};
use wasm_exporter::{logging, reload};

fn main() -> ExitCode {
    wasm_exporter::runtime::malloc::tune();
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == engine::COMPILE_COMMAND)
    {
        return compile_for_parent();
    }
    let flags = Flags::parse();
    if flags.version {
        print!("{}", wasm_exporter::cli::version());
        return ExitCode::SUCCESS;
    }
    logging::init(flags.log_level, flags.log_format);
    let settings = flags.settings().map_err(anyhow::Error::from);
    let result = match &flags.command {
        Some(Command::Check(args)) => settings.and_then(|s| run_check(args, &s)),
        Some(Command::Plugin(PluginCommand::New(args))) => run_plugin_new(args),
        Some(Command::Plugin(PluginCommand::Componentize(args))) => run_componentize(args),
        None => settings.and_then(run),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The child of [`Runtime::compiling_in_child`]: a `.wasm` on stdin, the
/// compiled component on stdout, the error on stderr.
fn compile_for_parent() -> ExitCode {
    use std::io::{Read as _, Write as _};
    let mut wasm = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut wasm) {
        eprintln!("reading the component: {e}");
        return ExitCode::FAILURE;
    }
    // The parent wraps a compile error in its own words: only the cause.
    let compiled = engine::precompile(&wasm).map_err(|e| match e {
        wasm_exporter::runtime::RuntimeError::Compile(why) => why,
        other => other.to_string(),
    });
    drop(wasm);
    match compiled.and_then(|c| std::io::stdout().write_all(&c).map_err(|e| e.to_string())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `wasm_exporter plugin new`: the project, and how to build and test it.
fn run_plugin_new(args: &NewArgs) -> anyhow::Result<ExitCode> {
    let root = wasm_exporter::scaffold::new_plugin(&args.name, args.lang, &args.dir)?;
    println!(
        "wrote {}: `{}` builds {}.wasm, `{}` tests it as the exporter runs it",
        root.display(),
        args.lang.build_command(),
        args.name,
        args.lang.test_command()
    );
    Ok(ExitCode::SUCCESS)
}

/// `wasm_exporter plugin componentize`: IN.wasm (a core module) to
/// OUT.wasm (a component of the current contract).
fn run_componentize(args: &ComponentizeArgs) -> anyhow::Result<ExitCode> {
    let core =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let name = args.input.display().to_string();
    let component = wasm_exporter::componentize::componentize(&name, &core)?;
    std::fs::write(&args.output, &component)
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!(
        "wrote {} ({} bytes), a component of wasm-exporter:plugin@{}",
        args.output.display(),
        component.len(),
        wasm_exporter::runtime::contract::Version::CURRENT.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// `wasm_exporter check`: the exposition (or the JSON report) on stdout,
/// the report for people on stderr, the verdict as the exit status.
fn run_check(args: &CheckArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let options = CheckOptions {
        wasm: args.wasm.clone(),
        manifest: args.config.clone(),
        scrapes: args.scrapes,
        negotiated: args.format.negotiated(args.escaping),
        defaults: settings.defaults,
        standins: args
            .respond
            .iter()
            .map(|s| {
                wasm_exporter::check::standin(s)
                    .with_context(|| format!("--respond {}: {}", s.target, s.file.display()))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let report = runtime.block_on(async {
        let wasm = match &args.cache_dir {
            Some(dir) => Runtime::with_cache_dir(dir)?,
            None => Runtime::new()?,
        };
        anyhow::Ok(check(&wasm, &options).await)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.exposition);
    }
    eprint!("{}", report.human());
    Ok(ExitCode::from(report.verdict.code()))
}

fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let web_config = match &settings.web_config_file {
        Some(path) => {
            let config = WebConfig::load(path)
                .with_context(|| format!("--web.config.file {}", path.display()))?;
            tracing::info!(file = %path.display(), tls = config.tls(), "web config loaded");
            Some(Arc::new(config))
        }
        None => None,
    };
    let flags = settings.ip_socket;
    let socket = web_config
        .as_ref()
        .map(|w| w.socket_options())
        .unwrap_or_default()
        .overridden_by(SocketOptions {
            ipv4_ttl: flags.ipv4_ttl,
            ipv6_hop_limit: flags.ipv6_hop_limit,
            dscp: flags.dscp,
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("wasm_exporter")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        // Listening first (before the address is logged, and before the
        // plugins load): a file dropped in or a SIGHUP sent in the meantime
        // reloads once they have loaded.
        let triggers = reload::listen(&settings.plugins_dir, settings.watch);
        let selfmetrics = Arc::new(SelfMetrics::new(settings.exporter_metrics));
        let app = Arc::new(App::new(
            WebSettings {
                telemetry_path: settings.telemetry_path.clone(),
                timeout_offset: settings.timeout_offset,
                max_requests: settings.max_requests,
                enable_lifecycle: settings.enable_lifecycle,
                web_config,
            },
            Arc::clone(&selfmetrics),
        ));
        let listeners = if settings.systemd_socket {
            http::systemd_listeners(socket)?
        } else {
            http::bind(&settings.addresses, socket).await?
        };
        for l in &listeners {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(address = %addr, "listening");
            }
        }
        let server = tokio::spawn(http::serve(
            listeners,
            socket,
            Arc::clone(&app),
            shutdown_signal(),
        ));

        let load = settings.clone();
        let loaded = tokio::task::spawn_blocking(move || -> anyhow::Result<Plugins> {
            let wasm = match &load.cache_dir {
                Some(dir) => Runtime::with_cache_dir(dir)?,
                None => Runtime::new()?,
            };
            // Plugins compile in a child, whose memory goes back to the
            // system when it exits.
            let wasm = match std::env::current_exe() {
                Ok(exe) => wasm.compiling_in_child(exe),
                Err(_) => wasm,
            };
            Ok(Plugins::load(wasm, &load.plugins_dir, load.defaults)?)
        })
        .await
        .context("loading plugins")
        .and_then(|loaded| loaded);
        let plugins = match loaded {
            Ok(plugins) => Arc::new(plugins),
            Err(e) => {
                server.abort();
                return Err(e);
            }
        };
        let scraper = Scraper::new(Arc::clone(&plugins), Arc::clone(&selfmetrics))
            .with_disabled(settings.disabled.clone());
        scraper.start_plugins().await;
        wasm_exporter::runtime::malloc::release();
        let catalogue = plugins.current();
        let failed = catalogue
            .plugins
            .iter()
            .filter(|p| p.load_error().is_some())
            .count();
        // Serving (and reloading) first, then saying so: a scrape on the
        // heels of the "ready" line (an operator's, or a test's that waits
        // for it) was answered 503 "Not ready" in between.
        app.set_scraper(Arc::new(scraper));
        app.set_reload(reload::spawn(plugins, selfmetrics, triggers));
        tracing::info!(
            dir = %settings.plugins_dir.display(),
            plugins = catalogue.plugins.len() - failed,
            failed,
            "plugins loaded, ready"
        );
        if catalogue.plugins.is_empty() {
            tracing::warn!(
                dir = %settings.plugins_dir.display(),
                "no plugins: the directory holds no NAME.wasm; /metrics serves the exporter's own metrics only"
            );
        }
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
