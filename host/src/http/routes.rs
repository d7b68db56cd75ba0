//! What each path answers. Every problem is an HTTP answer; nothing here
//! fails.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::{App, Body, MAX_BODY_BYTES, SCRAPE_TIMEOUT_HEADER, plain, text_response};
use crate::exposition::negotiate::{self, Compression};
use crate::exposition::render::render;

impl App {
    /// Routes one request. Never fails: every problem is an HTTP answer.
    pub async fn route(&self, req: Request<Incoming>) -> Response<Body> {
        let too_big = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > MAX_BODY_BYTES);
        if too_big {
            let mut resp = plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "413 request body too large\n",
            );
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return resp;
        }
        let path = req.uri().path();
        let known = path == self.settings.telemetry_path
            || matches!(path, "/" | "/probe" | "/-/healthy" | "/-/ready");
        if path == "/-/reload" {
            return self.reload(req.method()).await;
        }
        if !known {
            return plain(StatusCode::NOT_FOUND, "404 page not found\n");
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
        if path == self.settings.telemetry_path {
            let handler = &self.selfmetrics.handler;
            let _counted = handler.enter();
            let resp = self.limited_metrics(&req).await;
            handler.served(resp.status().as_u16());
            return resp;
        }
        match path {
            "/probe" => self.probe(&req).await,
            "/-/healthy" => plain(StatusCode::OK, "Healthy.\n"),
            "/-/ready" if self.ready.load(Ordering::SeqCst) => plain(StatusCode::OK, "Ready.\n"),
            "/-/ready" => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready: loading plugins.\n",
            ),
            _ => self.landing(),
        }
    }

    async fn reload(&self, method: &Method) -> Response<Body> {
        if method != Method::POST && method != Method::PUT {
            let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "405 use POST to reload\n");
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST, PUT"));
            return resp;
        }
        if !self.settings.enable_lifecycle {
            return plain(
                StatusCode::FORBIDDEN,
                "Lifecycle API is not enabled: start wasm_exporter with --web.enable-lifecycle to reload over HTTP (SIGHUP and the plugins directory watch reload without it).\n",
            );
        }
        let Some(trigger) = self.reload.get() else {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready: loading plugins.\n",
            );
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        if trigger.send(Some(tx)).await.is_err() {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "reloading is not running\n",
            );
        }
        match rx.await {
            Ok(Ok(report)) => text_response(StatusCode::OK, report),
            Ok(Err(error)) => text_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reload failed: {error}\n"),
            ),
            Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "reload did not answer\n"),
        }
    }

    pub(super) fn scrape_budget(&self, req: &Request<Incoming>) -> Option<Duration> {
        let raw = req.headers().get(SCRAPE_TIMEOUT_HEADER)?.to_str().ok()?;
        let seconds: f64 = raw
            .trim()
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s > 0.0)?;
        let timeout = Duration::try_from_secs_f64(seconds).ok()?;
        // Leave room for the response; with a tiny timeout, use half of it.
        Some(
            timeout
                .checked_sub(self.settings.timeout_offset)
                .filter(|d| !d.is_zero())
                .unwrap_or(timeout / 2),
        )
    }

    /// The metrics path under `--web.max-requests`: over the limit, answer
    /// at once rather than queue up work.
    async fn limited_metrics(&self, req: &Request<Incoming>) -> Response<Body> {
        let _permit = match &self.in_flight {
            Some(sem) => match Arc::clone(sem).try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    return plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "503 too many metrics requests in flight (--web.max-requests); try again later\n",
                    );
                }
            },
            None => None,
        };
        self.metrics(req).await
    }

    async fn metrics(&self, req: &Request<Incoming>) -> Response<Body> {
        let Some(scraper) = self.scraper.get() else {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready: loading plugins.\n",
            );
        };
        let (negotiated, compression) = negotiated(req);
        let only = match collect_param(req.uri().query()) {
            Ok(only) => only,
            Err(e) => return text_response(StatusCode::BAD_REQUEST, format!("{e}\n")),
        };
        let scrape = match scraper.scrape(self.scrape_budget(req), only.as_ref()).await {
            Ok(scrape) => scrape,
            Err(e) => return text_response(StatusCode::BAD_REQUEST, format!("{e}\n")),
        };
        // The last body's size and a quarter more: a body a little larger
        // than the last would otherwise double its buffer. Before the
        // first body, 0: estimated from the families.
        let last = self.last_size.load(Ordering::Relaxed);
        let body_hint = last + last / 4;
        let part = scrape.collected.part(negotiated, body_hint).await;
        // The host's families are the only ones encoded per scrape.
        let assembled = part.assemble(scrape.host);
        self.last_size.store(part.len(), Ordering::Relaxed);
        let handler = &self.selfmetrics.handler;
        handler.escape_clashed(&part.clashes);
        handler.escape_clashed(&assembled.clashes);
        self.exposition(assembled.chunks, negotiated, compression)
    }

    /// `families` as the prober negotiated them (the render step),
    /// compressed, with their headers.
    pub(super) fn rendered(
        &self,
        families: Vec<crate::exposition::model::Family>,
        negotiated: negotiate::Negotiated,
        compression: Compression,
    ) -> Response<Body> {
        let rendered = render(families, negotiated, 0);
        self.selfmetrics.handler.escape_clashed(&rendered.clashes);
        self.exposition(vec![Bytes::from(rendered.body)], negotiated, compression)
    }

    /// A body of `chunks` in `negotiated` form, compressed, with its
    /// headers.
    fn exposition(
        &self,
        chunks: Vec<Bytes>,
        negotiated: negotiate::Negotiated,
        compression: Compression,
    ) -> Response<Body> {
        let (body, encoding) = match compress(&chunks, compression) {
            Some((compressed, encoding)) => (Body::from(Bytes::from(compressed)), Some(encoding)),
            None => (Body::new(chunks), None),
        };
        let mut resp = Response::new(body);
        let headers = resp.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&negotiated.content_type()) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Encoding"),
        );
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        resp
    }
}

/// The format and compression `req` asks for (`Accept`, `Accept-Encoding`).
pub(super) fn negotiated(req: &Request<Incoming>) -> (negotiate::Negotiated, Compression) {
    let header_str = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    (
        negotiate::negotiate(header_str(header::ACCEPT)),
        negotiate::compression(header_str(header::ACCEPT_ENCODING)),
    )
}

/// The body of `chunks` in `compression`, and its `Content-Encoding`;
/// none when it is sent as it is: uncompressed asked for, or compressing
/// failed (which only an allocation failure could cause).
fn compress(chunks: &[Bytes], compression: Compression) -> Option<(Vec<u8>, &'static str)> {
    let size: usize = chunks.iter().map(Bytes::len).sum();
    let compressed = match compression {
        Compression::Identity => return None,
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(size / 4),
                flate2::Compression::fast(),
            );
            chunks
                .iter()
                .try_for_each(|c| encoder.write_all(c))
                .and_then(|()| encoder.finish())
        }
        Compression::Zstd => zstd::stream::write::Encoder::new(Vec::with_capacity(size / 4), 1)
            .and_then(|mut e| {
                // As one buffer's frame would: its size in the header.
                e.include_contentsize(true)?;
                e.set_pledged_src_size(Some(size as u64))?;
                chunks.iter().try_for_each(|c| e.write_all(c))?;
                e.finish()
            }),
    };
    match (compressed, compression.header()) {
        (Ok(c), Some(header)) => Some((c, header)),
        (Ok(_), None) => None,
        (Err(e), _) => {
            tracing::warn!("compressing the response failed, sent as it is: {e}");
            None
        }
    }
}

/// The query's parameters, percent-decoded (`+` as a space), in order.
pub(super) fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| format!("query: {s:?} is not UTF-8"))
    };
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(key)?, decode(value)?))
        })
        .collect()
}

/// The plugins `collect[]=NAME` names in the query (Prometheus' `params:`),
/// or `None` when there is none: then every enabled plugin is collected.
fn collect_param(
    query: Option<&str>,
) -> Result<Option<std::collections::BTreeSet<String>>, String> {
    let names: std::collections::BTreeSet<String> = query_pairs(query)?
        .into_iter()
        .filter(|(key, _)| key == "collect[]")
        .map(|(_, value)| value)
        .collect();
    Ok((!names.is_empty()).then_some(names))
}

#[cfg(test)]
mod tests {
    use super::{Bytes, Compression, collect_param, compress};
    use std::io::Read as _;

    #[test]
    fn chunks_compress_as_the_one_body_they_make() {
        let chunks: Vec<Bytes> = ["# HELP a h\n", "a 1\n", "", "# HELP b h\nb 2\n"]
            .into_iter()
            .map(|c: &'static str| Bytes::from_static(c.as_bytes()))
            .collect();
        let whole = chunks.concat();
        let (gz, header) = compress(&chunks, Compression::Gzip).unwrap();
        assert_eq!(header, "gzip");
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, whole);
        let (zst, header) = compress(&chunks, Compression::Zstd).unwrap();
        assert_eq!(header, "zstd");
        assert_eq!(zstd::decode_all(&zst[..]).unwrap(), whole);
        // The frame says its size, as a one-shot compression's does.
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&zst).ok(),
            Some(Some(whole.len() as u64))
        );
        assert!(compress(&chunks, Compression::Identity).is_none());
    }

    #[test]
    fn collect_parameters_as_prometheus_sends_them() {
        let names = |q| {
            collect_param(Some(q))
                .unwrap()
                .map(|s| s.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(
            names("collect[]=a&collect[]=b"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(names("collect%5B%5D=haproxy"), Some(vec!["haproxy".into()]));
        assert_eq!(names("other=1"), None);
        assert_eq!(collect_param(None).unwrap(), None);
    }
}
