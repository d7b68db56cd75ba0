//! Hot reload: operators add, replace or remove plugins and their configs
//! without a restart. A reload runs on a change in the plugins directory
//! (debounced), on SIGHUP, and on `POST /-/reload`; reloads never overlap.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::catalogue::Plugins;
use crate::selfmetrics::SelfMetrics;

/// Asks the reload loop for a reload; with a sender, for its outcome too
/// (`POST /-/reload` waits for the report).
pub type ReloadTrigger = mpsc::Sender<Option<tokio::sync::oneshot::Sender<Result<String, String>>>>;

/// Quiet time after the last change in the directory before reloading, so
/// that a copy in progress is not loaded half-written.
pub const DEBOUNCE: Duration = Duration::from_millis(500);

/// Starts the reload loop and its triggers; returns the channel that
/// `POST /-/reload` uses.
pub fn spawn(plugins: Arc<Plugins>, selfmetrics: Arc<SelfMetrics>, watch: bool) -> ReloadTrigger {
    let dir = plugins.dir().to_owned();
    let (tx, mut rx): (ReloadTrigger, _) = mpsc::channel(16);
    let (changes_tx, mut changes) = mpsc::channel::<()>(1);

    // The watcher lives as long as the loop; it only signals "something
    // changed", and the loop debounces.
    let watcher = if watch {
        start_watcher(&dir, changes_tx)
    } else {
        None
    };

    let sighup = tx.clone();
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot watch SIGHUP; reload with POST /-/reload");
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("received SIGHUP, reloading");
            if sighup.send(None).await.is_err() {
                return;
            }
        }
    });

    tokio::spawn(async move {
        let _watcher = watcher;
        loop {
            let reply = tokio::select! {
                request = rx.recv() => match request {
                    Some(reply) => reply,
                    None => return,
                },
                Some(()) = changes.recv() => {
                    // Debounce: wait until the directory has been quiet.
                    while tokio::time::timeout(DEBOUNCE, changes.recv()).await.is_ok_and(|c| c.is_some()) {}
                    tracing::info!(dir = %dir.display(), "plugins directory changed, reloading");
                    None
                }
            };
            let reloaded = plugins.reload().await;
            crate::runtime::malloc::release();
            let outcome = match reloaded {
                Ok(report) => {
                    for (name, error) in &report.failed_instances {
                        selfmetrics.statuses.count_failed_reload(name, error);
                    }
                    let catalogue = plugins.current();
                    selfmetrics.retain(|name| catalogue.plugins.iter().any(|p| &*p.name == name));
                    // As Prometheus answers a reload that failed: an error,
                    // so that a script that reloads can tell.
                    if report.failed.is_empty() {
                        Ok(report.to_string())
                    } else {
                        Err(format!(
                            "{} plugin files failed to load (an old version, where there is one, keeps serving)\n{report}",
                            report.failed.len()
                        ))
                    }
                }
                Err(e) => {
                    tracing::error!("reload failed: {e}");
                    Err(e.to_string())
                }
            };
            if let Some(reply) = reply {
                let _ = reply.send(outcome);
            }
        }
    });
    tx
}

fn start_watcher(
    dir: &std::path::Path,
    changes: mpsc::Sender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher as _;
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.kind.is_access()
        {
            // Full means a reload is already pending.
            let _ = changes.try_send(());
        }
    };
    match notify::recommended_watcher(handler) {
        Ok(mut watcher) => match watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
            Ok(()) => Some(watcher),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "cannot watch the plugins directory ({e}); reload with SIGHUP or POST /-/reload");
                None
            }
        },
        Err(e) => {
            tracing::warn!(
                "cannot watch the plugins directory ({e}); reload with SIGHUP or POST /-/reload"
            );
            None
        }
    }
}
