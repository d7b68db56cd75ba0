//! Listeners (addresses, or sockets from systemd), TLS from the web config,
//! one task per connection, and graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::{App, HEADER_READ_TIMEOUT, SHUTDOWN_GRACE, sniff};
use crate::webconfig::SocketOptions;

/// Binds every address, or fails naming the one that could not be bound.
/// The IPv6 wildcard (`[::]`, what `:PORT` means) is bound dual-stack, as
/// Go's listener binds it, so IPv4 clients reach it too; on a machine
/// without IPv6 it falls back to `0.0.0.0`. The IP socket options'
/// TTL and hop limit are set on each listener.
pub async fn bind(
    addresses: &[SocketAddr],
    socket: SocketOptions,
) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::with_capacity(addresses.len());
    for addr in addresses {
        let listener = bind_one(*addr, socket)
            .map_err(|e| std::io::Error::new(e.kind(), format!("listening on {addr}: {e}")))?;
        listeners.push(listener);
    }
    Ok(listeners)
}

fn bind_one(addr: SocketAddr, options: SocketOptions) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let wildcard_v6 = matches!(addr, SocketAddr::V6(a) if a.ip().is_unspecified());
    let socket = match Socket::new(Domain::for_address(addr), Type::STREAM, None) {
        Ok(s) => s,
        Err(e)
            if wildcard_v6
                && e.raw_os_error() == Some(rustix::io::Errno::AFNOSUPPORT.raw_os_error()) =>
        {
            tracing::info!("no IPv6 on this machine, listening on IPv4 only");
            let v4 = SocketAddr::from(([0, 0, 0, 0], addr.port()));
            return bind_one(v4, options);
        }
        Err(e) => return Err(e),
    };
    if wildcard_v6 {
        socket.set_only_v6(false)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    options.apply_to_listener(&socket)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// The listening sockets systemd passed (`LISTEN_FDS`), for
/// `--web.systemd-socket`, with the IP socket options' TTL and hop limit
/// set on them after the fact.
pub fn systemd_listeners(socket: SocketOptions) -> std::io::Result<Vec<TcpListener>> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "--web.systemd-socket: no sockets passed by systemd (LISTEN_FDS/LISTEN_PID unset)",
        ));
    }
    let mut listeners = Vec::with_capacity(fds.len());
    for i in 0..fds.len() {
        let listener = fds.take_tcp_listener(i)?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("--web.systemd-socket: socket {i} is not a TCP listener"),
            )
        })?;
        listener.set_nonblocking(true)?;
        socket.apply_to_listener(&listener)?;
        listeners.push(TcpListener::from_std(listener)?);
    }
    Ok(listeners)
}

/// Serves `app` on `listeners` until `shutdown` resolves, then lets requests
/// in flight finish (up to [`SHUTDOWN_GRACE`]). Each accepted connection
/// gets the IP socket options' DSCP codepoint.
pub async fn serve(
    listeners: Vec<TcpListener>,
    socket: SocketOptions,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let mut acceptors = tokio::task::JoinSet::new();
    for listener in listeners {
        let tx = tx.clone();
        acceptors.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok(conn) => {
                        if tx.send(conn).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    drop(tx);

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(64 << 10);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            conn = rx.recv() => {
                let Some((stream, peer)) = conn else { break };
                if let Err(e) = socket.apply_to_connection(&stream) {
                    tracing::warn!(peer = %peer, "IP socket options not set on a connection: {e}");
                }
                let app = Arc::clone(&app);
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    // A new connection picks up a renewed certificate; each
                    // request (below) picks up changed users and headers, so a
                    // user removed from the file loses a kept-alive connection too.
                    let tls = app
                        .settings
                        .web_config
                        .as_ref()
                        .and_then(|w| w.current().tls.clone());
                    let service = service_fn(move |req| {
                        let app = Arc::clone(&app);
                        async move {
                            let web = app.settings.web_config.as_ref().map(|w| w.current());
                            Ok::<_, Infallible>(app.handle_with(req, web).await)
                        }
                    });
                    let result = match tls {
                        None => watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await,
                        Some(config) => {
                            // Plain HTTP and TLS 1.1 get Go's answers.
                            let mut stream = stream;
                            if sniff::screen(&mut stream, HEADER_READ_TIMEOUT).await != sniff::Opening::Tls {
                                return;
                            }
                            // The handshake is bounded like the headers are.
                            let accept = tokio_rustls::TlsAcceptor::from(config).accept(stream);
                            match tokio::time::timeout(HEADER_READ_TIMEOUT, accept).await {
                                Ok(Ok(tls)) => watcher.watch(builder.serve_connection(TokioIo::new(tls), service)).await,
                                Ok(Err(e)) => {
                                    tracing::debug!("TLS handshake failed: {e}");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!("TLS handshake timed out");
                                    return;
                                }
                            }
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    acceptors.abort_all();
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("shutdown grace period over, closing connections"),
    }
}
