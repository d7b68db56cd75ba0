//! Unix-socket and TCP targets: write the request's body, then read until
//! the peer closes, or until the data ends with the plugin's terminator,
//! or up to its read bound.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::{FetchError, Response};

/// How much of an answer to read.
pub(super) struct Bound<'a> {
    /// Stop once the data read ends with these bytes.
    pub until: Option<&'a [u8]>,
    /// Stop after this many bytes, with `truncated` set.
    pub max_bytes: Option<u64>,
    /// The plugin's response limit: past it the exchange fails.
    pub cap: usize,
}

/// Writes `body` (if any) and reads the answer. Without a terminator our
/// side is half-closed first, as haproxy_exporter does (HAProxy answers and
/// closes); with one, it stays open, as line protocols (memcached, Redis)
/// expect.
pub(super) async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    body: Option<&[u8]>,
    bound: Bound<'_>,
) -> Result<Response, FetchError> {
    let broken = |e: std::io::Error| FetchError::Protocol(e.to_string());
    if let Some(bytes) = body {
        stream.write_all(bytes).await.map_err(broken)?;
    }
    stream.flush().await.map_err(broken)?;
    let until = bound.until.filter(|u| !u.is_empty());
    if until.is_none() {
        stream.shutdown().await.map_err(broken)?;
    }
    let limit = bound
        .max_bytes
        .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
    let mut data = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    let mut truncated = false;
    loop {
        let n = stream.read(&mut chunk).await.map_err(broken)?;
        if n == 0 {
            if until.is_some() {
                return Err(FetchError::Protocol(
                    "the peer closed before the terminator".into(),
                ));
            }
            break;
        }
        if data.len() + n > limit && limit <= bound.cap {
            data.extend_from_slice(&chunk[..limit - data.len()]);
            truncated = true;
            break;
        }
        if data.len() + n > bound.cap {
            return Err(FetchError::TooLarge(bound.cap as u64));
        }
        data.extend_from_slice(&chunk[..n]);
        if until.is_some_and(|u| data.ends_with(u)) {
            break;
        }
    }
    Ok(Response {
        status: 0,
        headers: Vec::new(),
        body: data,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_terminator_ends_the_read_without_the_peer_closing() {
        let (mut ours, mut theirs) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let mut got = [0u8; 6];
            theirs.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"stats\n");
            theirs
                .write_all(b"STAT pid 1\r\nSTAT uptime 5\r\nEND\r\n")
                .await
                .unwrap();
            // Kept open, as memcached does.
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        });
        let bound = Bound {
            until: Some(b"END\r\n"),
            max_bytes: None,
            cap: 1 << 20,
        };
        let r = exchange(&mut ours, Some(b"stats\n"), bound).await.unwrap();
        assert_eq!(r.body, b"STAT pid 1\r\nSTAT uptime 5\r\nEND\r\n");
        assert!(!r.truncated);
        server.abort();
    }

    #[tokio::test]
    async fn a_read_bound_cuts_the_answer_short_and_says_so() {
        let (mut ours, mut theirs) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            theirs.write_all(&[b'x'; 1000]).await.unwrap();
        });
        let bound = Bound {
            until: None,
            max_bytes: Some(10),
            cap: 1 << 20,
        };
        let r = exchange(&mut ours, None, bound).await.unwrap();
        assert_eq!(r.body.len(), 10);
        assert!(r.truncated);
        let (mut ours, mut theirs) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            theirs.write_all(&[b'x'; 1000]).await.unwrap();
        });
        let over = Bound {
            until: None,
            max_bytes: None,
            cap: 100,
        };
        let e = exchange(&mut ours, None, over).await.unwrap_err();
        assert_eq!(e, FetchError::TooLarge(100));
    }
}
