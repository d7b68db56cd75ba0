//! Hot reload: operators add, replace or remove plugins and their configs
//! without a restart. A reload runs on a change in the plugins directory
//! (debounced), on SIGHUP, and on `POST /-/reload`; reloads never overlap.
//!
//! The triggers are set up before the first load ([`listen`]): a file
//! dropped in, or a SIGHUP sent, while the plugins load reloads once they
//! have (a SIGHUP then no longer ends the process, as its default action
//! would). Where the kernel refuses a watch (inotify's per-user limits), the
//! directory is polled instead.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use crate::catalogue::Plugins;
use crate::selfmetrics::SelfMetrics;

/// Asks the reload loop for a reload; with a sender, for its outcome too
/// (`POST /-/reload` waits for the report).
pub type ReloadTrigger = mpsc::Sender<Option<tokio::sync::oneshot::Sender<Result<String, String>>>>;

/// Quiet time after the last change in the directory before reloading, so
/// that a copy in progress is not loaded half-written.
pub const DEBOUNCE: Duration = Duration::from_millis(500);

/// How often the directory is scanned where it cannot be watched.
pub const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// What reloads, listening from before the first load: what comes in
/// meanwhile waits for the reload loop ([`spawn`]).
pub struct Triggers {
    watch: Option<Watch>,
    hangup: Option<Signal>,
}

/// Listens for SIGHUP and, with `watch`, for changes in `dir`. Call it
/// before loading the plugins, inside the runtime.
pub fn listen(dir: &Path, watch: bool) -> Triggers {
    let hangup = signal(SignalKind::hangup())
        .inspect_err(|e| tracing::warn!("cannot take SIGHUP ({e}); reload with POST /-/reload"))
        .ok();
    Triggers {
        watch: if watch { watch_dir(dir) } else { None },
        hangup,
    }
}

/// A watch on the plugins directory: it only signals "something changed"
/// (changes made before the reload loop starts wait for it), and the loop
/// debounces.
struct Watch {
    _watcher: Box<dyn notify::Watcher + Send>,
    changes: mpsc::Receiver<()>,
}

/// Starts watching `dir` with the kernel's notifications, or by polling it
/// every [`POLL_INTERVAL`] where they are refused; `None` (logged) when
/// neither can watch it, and (silently: loading it names the error) when
/// there is no such directory.
fn watch_dir(dir: &Path) -> Option<Watch> {
    match start_watcher(dir, Backend::Notify) {
        Ok(watch) => Some(watch),
        Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => None,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), "cannot be notified of changes in the plugins directory ({e}); polling it every {}s instead", POLL_INTERVAL.as_secs());
            start_watcher(dir, Backend::Poll(POLL_INTERVAL))
                .inspect_err(|e| tracing::warn!(dir = %dir.display(), "cannot watch the plugins directory ({e}); reload with SIGHUP or POST /-/reload"))
                .ok()
        }
    }
}

/// Starts the reload loop on `triggers`; returns the channel that
/// `POST /-/reload` uses.
pub fn spawn(
    plugins: Arc<Plugins>,
    selfmetrics: Arc<SelfMetrics>,
    triggers: Triggers,
) -> ReloadTrigger {
    let dir = plugins.dir().to_owned();
    let (tx, mut rx): (ReloadTrigger, _) = mpsc::channel(16);
    // The watcher lives as long as the loop. Without one, a closed
    // channel: the loop's pattern on it never matches.
    let (watcher, mut changes) = match triggers.watch {
        Some(Watch {
            _watcher: w,
            changes,
        }) => (Some(w), changes),
        None => (None, mpsc::channel(1).1),
    };

    let sighup = tx.clone();
    if let Some(mut hup) = triggers.hangup {
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!("received SIGHUP, reloading");
                if sighup.send(None).await.is_err() {
                    return;
                }
            }
        });
    }

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

/// Which way a [`Watch`] learns of changes.
#[derive(Clone, Copy, Debug)]
enum Backend {
    /// The platform's notifications (inotify on Linux).
    Notify,
    /// A scan of the directory at this interval.
    Poll(Duration),
}

fn start_watcher(dir: &Path, backend: Backend) -> notify::Result<Watch> {
    let (changes_tx, changes) = mpsc::channel::<()>(1);
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.kind.is_access()
        {
            // Full means a reload is already pending.
            let _ = changes_tx.try_send(());
        }
    };
    let mut watcher: Box<dyn notify::Watcher + Send> = match backend {
        Backend::Notify => Box::new(notify::recommended_watcher(handler)?),
        Backend::Poll(every) => Box::new(notify::PollWatcher::new(
            handler,
            notify::Config::default().with_poll_interval(every),
        )?),
    };
    watcher.watch(dir, notify::RecursiveMode::NonRecursive)?;
    Ok(Watch {
        _watcher: watcher,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits up to 10 s for a change signal.
    async fn changed(watch: &mut Watch) -> bool {
        tokio::time::timeout(Duration::from_secs(10), watch.changes.recv())
            .await
            .is_ok_and(|c| c.is_some())
    }

    /// Whether the kernel refused inotify for want of instances or watches.
    fn is_exhausted(e: &notify::Error) -> bool {
        match &e.kind {
            notify::ErrorKind::MaxFilesWatch => true,
            // EMFILE (instances) or ENOSPC (watches).
            notify::ErrorKind::Io(io) => matches!(io.raw_os_error(), Some(24 | 28)),
            _ => false,
        }
    }

    /// An empty directory of its own for `test`.
    fn empty_dir(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("wx-reload-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn each_backend_signals_a_new_file_and_nothing_before_it() {
        for (name, backend) in [
            ("notify", Backend::Notify),
            ("poll", Backend::Poll(Duration::from_millis(50))),
        ] {
            let dir = empty_dir(name);
            std::fs::write(dir.join("old.wasm"), b"old").unwrap();
            let mut watch = match start_watcher(&dir, backend) {
                Ok(watch) => watch,
                // The machine's inotify instances are all taken (by other
                // processes of this user): what polling is for.
                Err(e) if matches!(backend, Backend::Notify) && is_exhausted(&e) => {
                    eprintln!("inotify refused ({e}); only polling is tested");
                    continue;
                }
                Err(e) => panic!("{backend:?}: {e}"),
            };
            // Files there before the watch are no change.
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(watch.changes.try_recv().is_err(), "{backend:?}");
            std::fs::write(dir.join("new.wasm"), b"new").unwrap();
            assert!(changed(&mut watch).await, "{backend:?}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[tokio::test]
    async fn a_change_made_before_the_loop_starts_waits_for_it() {
        let dir = empty_dir("early");
        let mut watch = watch_dir(&dir).unwrap();
        std::fs::write(dir.join("early.wasm"), b"early").unwrap();
        // Nobody reads yet; the signal is kept until somebody does.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(changed(&mut watch).await);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
