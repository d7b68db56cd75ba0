//! What a connection to a TLS listener says before the handshake, read
//! without consuming it, so that two client mistakes get the answers Go's
//! `net/http` (and so exporter-toolkit) gives: plain HTTP gets `400 Client
//! sent an HTTP request to an HTTPS server.`, and a client that offers
//! nothing newer than TLS 1.1 gets a `protocol_version` alert.

use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

/// Go's answer to plain HTTP on a TLS port, byte for byte.
const PLAIN_HTTP_ANSWER: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// A fatal `protocol_version` alert (TLS record, version 1.0 as old clients
/// expect it).
const PROTOCOL_VERSION_ALERT: &[u8] = &[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46];

/// What the first bytes of a connection are.
#[derive(Debug, PartialEq, Eq)]
pub enum Opening {
    /// A TLS ClientHello that offers TLS 1.2 or newer, or anything else
    /// for the TLS stack to judge.
    Tls,
    /// An HTTP request in the clear.
    PlainHttp,
    /// A ClientHello offering nothing newer than TLS 1.1.
    OldTls,
}

/// Reads the connection's first bytes without consuming them, within
/// `wait`, and answers the two mistakes itself (the caller then drops the
/// connection); `Opening::Tls` when the TLS stack should take over.
pub async fn screen(stream: &mut TcpStream, wait: Duration) -> Opening {
    let mut buf = [0u8; 1024];
    let opening = match tokio::time::timeout(wait, stream.peek(&mut buf)).await {
        Ok(Ok(n)) => classify(&buf[..n]),
        _ => Opening::Tls,
    };
    let answer = match opening {
        Opening::Tls => return opening,
        Opening::PlainHttp => PLAIN_HTTP_ANSWER,
        Opening::OldTls => PROTOCOL_VERSION_ALERT,
    };
    let _ = tokio::time::timeout(wait, async {
        let _ = stream.write_all(answer).await;
        let _ = stream.shutdown().await;
    })
    .await;
    opening
}

/// What `bytes`, the start of a connection, are.
pub fn classify(bytes: &[u8]) -> Opening {
    match bytes.first() {
        // A TLS handshake record.
        Some(0x16) => {
            if offers_tls_1_2(bytes) == Some(false) {
                Opening::OldTls
            } else {
                Opening::Tls
            }
        }
        // A request line starts with a method in capitals.
        Some(b) if b.is_ascii_uppercase() => Opening::PlainHttp,
        _ => Opening::Tls,
    }
}

/// Whether the ClientHello in `bytes` offers TLS 1.2 or newer: its
/// `client_version`, or a `supported_versions` extension; `None` when it
/// cannot be read from what arrived (the TLS stack then decides).
fn offers_tls_1_2(bytes: &[u8]) -> Option<bool> {
    let mut r = Reader(bytes);
    r.skip(5)?; // record header
    (r.u8()? == 1).then_some(())?; // ClientHello
    r.skip(3)?;
    let client_version = r.u16()?;
    if client_version >= 0x0303 {
        return Some(true);
    }
    r.skip(32)?; // random
    let session = r.u8()?;
    r.skip(usize::from(session))?;
    let suites = r.u16()?;
    r.skip(usize::from(suites))?;
    let compression = r.u8()?;
    r.skip(usize::from(compression))?;
    let Some(mut left) = r.u16() else {
        return Some(false); // no extensions at all
    };
    while left >= 4 {
        let kind = r.u16()?;
        let len = r.u16()?;
        if kind == 43 {
            // supported_versions: a length byte, then 2-byte versions.
            let count = usize::from(r.u8()?) / 2;
            for _ in 0..count {
                if r.u16()? >= 0x0303 {
                    return Some(true);
                }
            }
            return Some(false);
        }
        r.skip(usize::from(len))?;
        left = left.saturating_sub(4 + len);
    }
    Some(false)
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn skip(&mut self, n: usize) -> Option<()> {
        self.0 = self.0.get(n..)?;
        Some(())
    }

    fn u8(&mut self) -> Option<u8> {
        let b = *self.0.first()?;
        self.0 = &self.0[1..];
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello record with `client_version` and, when given, a
    /// `supported_versions` extension listing `versions`.
    fn hello(client_version: u16, versions: Option<&[u16]>) -> Vec<u8> {
        let mut body = vec![(client_version >> 8) as u8, client_version as u8];
        body.extend([0u8; 32]); // random
        body.push(0); // session id
        body.extend([0, 2, 0x00, 0x2f]); // one suite
        body.extend([1, 0]); // compression: null
        let mut ext = Vec::new();
        ext.extend([0, 0, 0, 0]); // server_name, empty
        if let Some(versions) = versions {
            let list: Vec<u8> = versions.iter().flat_map(|v| v.to_be_bytes()).collect();
            ext.extend(43u16.to_be_bytes());
            ext.extend(((list.len() + 1) as u16).to_be_bytes());
            ext.push(list.len() as u8);
            ext.extend(list);
        }
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        let mut handshake = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        handshake.extend(body);
        let mut record = vec![
            0x16,
            3,
            1,
            (handshake.len() >> 8) as u8,
            handshake.len() as u8,
        ];
        record.extend(handshake);
        record
    }

    #[test]
    fn openings_as_go_tells_them_apart() {
        assert_eq!(classify(b"GET /metrics HTTP/1.1\r\n"), Opening::PlainHttp);
        assert_eq!(classify(b"POST /-/reload"), Opening::PlainHttp);
        assert_eq!(classify(&hello(0x0303, None)), Opening::Tls);
        assert_eq!(
            classify(&hello(0x0303, Some(&[0x0304, 0x0303]))),
            Opening::Tls
        );
        assert_eq!(classify(&hello(0x0302, None)), Opening::OldTls);
        assert_eq!(
            classify(&hello(0x0301, Some(&[0x0302, 0x0301]))),
            Opening::OldTls
        );
        // Cut short: the TLS stack decides.
        assert_eq!(classify(&hello(0x0302, None)[..20]), Opening::Tls);
        assert_eq!(classify(b""), Opening::Tls);
        assert_eq!(classify(&[0x80, 0x01]), Opening::Tls);
    }
}
