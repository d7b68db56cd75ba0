//! Unix-socket and TCP targets: write a command line, read until EOF.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::{FetchError, Response};

/// Writes `command` (if any), closes our side, and reads until EOF.
pub(super) async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    command: Option<&str>,
    cap: usize,
) -> Result<Response, FetchError> {
    let broken = |e: std::io::Error| FetchError::Protocol(e.to_string());
    if let Some(cmd) = command {
        stream.write_all(cmd.as_bytes()).await.map_err(broken)?;
    }
    stream.flush().await.map_err(broken)?;
    // Half-close, as haproxy_exporter does: HAProxy answers and closes.
    stream.shutdown().await.map_err(broken)?;
    let mut body = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = stream.read(&mut chunk).await.map_err(broken)?;
        if n == 0 {
            break;
        }
        if body.len() + n > cap {
            return Err(FetchError::TooLarge(cap as u64));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Response { status: 0, body })
}
