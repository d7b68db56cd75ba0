//! Capture of a plugin's stdout and stderr, so that what it prints (panic
//! messages above all) reaches the host log tagged with the plugin's name.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    cap: usize,
    dropped: u64,
}

/// A bounded buffer that the guest's stdout and stderr write into. Writes
/// past the per-call cap succeed for the guest but are dropped and counted;
/// the host drains it after every call.
#[derive(Debug, Clone)]
pub struct OutputCapture {
    inner: Arc<Mutex<Buffer>>,
}

/// What a plugin printed during one call.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// Complete text, lossily decoded.
    pub text: String,
    /// Bytes dropped over the cap.
    pub dropped: u64,
}

impl OutputCapture {
    /// A capture that keeps at most `cap` bytes between drains.
    pub fn new(cap: usize) -> Self {
        OutputCapture {
            inner: Arc::new(Mutex::new(Buffer {
                bytes: Vec::new(),
                cap,
                dropped: 0,
            })),
        }
    }

    fn append(&self, data: &[u8]) {
        let mut buf = match self.inner.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let room = buf.cap.saturating_sub(buf.bytes.len());
        let keep = data.len().min(room);
        buf.bytes.extend_from_slice(&data[..keep]);
        buf.dropped += (data.len() - keep) as u64;
    }

    /// Takes everything written since the last drain.
    pub fn drain(&self) -> Drained {
        let mut buf = match self.inner.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let bytes = std::mem::take(&mut buf.bytes);
        let dropped = std::mem::take(&mut buf.dropped);
        Drained {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            dropped,
        }
    }
}

impl IsTerminal for OutputCapture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for OutputCapture {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for OutputCapture {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_counts() {
        let c = OutputCapture::new(4);
        c.append(b"abc");
        c.append(b"defg");
        assert_eq!(
            c.drain(),
            Drained {
                text: "abcd".into(),
                dropped: 3
            }
        );
        assert_eq!(c.drain(), Drained::default());
        c.append(b"xy");
        assert_eq!(c.drain().text, "xy");
    }
}
