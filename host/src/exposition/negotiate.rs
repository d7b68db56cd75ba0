//! Content negotiation from `Accept` and `Accept-Encoding`, as promhttp does
//! it: the highest-ranked acceptable type wins (by `q`, then specificity),
//! with its `version`, `proto`, `encoding` and `escaping` parameters;
//! text 0.0.4 when nothing else fits. Compression: zstd or gzip, by `q`.

use super::escape::Escaping;

/// An exposition format we can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text 0.0.4.
    Text,
    /// Prometheus text 1.0.0: 0.0.4 with quoted UTF-8 names.
    Text1,
    /// OpenMetrics text; `legacy` answers a client that asked for 0.0.1.
    OpenMetrics {
        /// The client asked for version 0.0.1 only.
        legacy: bool,
    },
    /// Delimited Prometheus protobuf (`io.prometheus.client.MetricFamily`).
    Protobuf,
}

/// The format and the name escaping for one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The format.
    pub format: Format,
    /// How names outside the legacy character set are written.
    pub escaping: Escaping,
}

impl Negotiated {
    /// The `Content-Type` header value: the 1.0.0 text formats and
    /// protobuf carry the escaping scheme.
    pub fn content_type(self) -> String {
        let base = match self.format {
            Format::Text => return super::text::CONTENT_TYPE.to_owned(),
            Format::OpenMetrics { legacy: true } => {
                return super::openmetrics::CONTENT_TYPE_0_0_1.to_owned();
            }
            Format::Text1 => super::text::CONTENT_TYPE_1_0_0,
            Format::OpenMetrics { legacy: false } => super::openmetrics::CONTENT_TYPE,
            Format::Protobuf => super::protobuf::CONTENT_TYPE,
        };
        format!("{base}; escaping={}", self.escaping.as_str())
    }
}

struct Clause<'a> {
    media: &'a str,
    version: Option<&'a str>,
    proto: Option<&'a str>,
    encoding: Option<&'a str>,
    escaping: Option<&'a str>,
    q: f32,
    specificity: u8,
}

fn parse_q(v: &str) -> f32 {
    v.trim()
        .parse::<f32>()
        .ok()
        .filter(|q| q.is_finite())
        .map_or(1.0, |q| q.clamp(0.0, 1.0))
}

fn clauses(header: &str) -> Vec<Clause<'_>> {
    let mut out: Vec<Clause<'_>> = header
        .split(',')
        .filter_map(|part| {
            let mut params = part.split(';');
            let media = params.next()?.trim();
            if media.is_empty() {
                return None;
            }
            let mut clause = Clause {
                media,
                version: None,
                proto: None,
                encoding: None,
                escaping: None,
                q: 1.0,
                specificity: match media {
                    "*/*" => 0,
                    m if m.ends_with("/*") => 1,
                    _ => 2,
                },
            };
            for param in params {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => clause.q = parse_q(value),
                    "version" => clause.version = Some(value),
                    "proto" => clause.proto = Some(value),
                    "encoding" => clause.encoding = Some(value),
                    "escaping" => clause.escaping = Some(value),
                    _ => {}
                }
            }
            Some(clause)
        })
        .filter(|c| c.q > 0.0)
        .collect();
    // Stable: among equals, the header's order stands.
    out.sort_by(|a, b| b.q.total_cmp(&a.q).then(b.specificity.cmp(&a.specificity)));
    out
}

const PROTO_MEDIA: &str = "application/vnd.google.protobuf";
const PROTO_MESSAGE: &str = "io.prometheus.client.MetricFamily";

/// Picks the format and escaping for an `Accept` header (absent: text
/// 0.0.4). The escaping comes from the chosen clause; without one (or with
/// one it does not know) names are escaped with `underscores`. Formats that
/// cannot quote names (text 0.0.4, OpenMetrics 0.0.1) never get
/// `allow-utf-8`.
pub fn negotiate(accept: Option<&str>) -> Negotiated {
    for clause in clauses(accept.unwrap_or("")) {
        let media = clause.media.to_ascii_lowercase();
        let format = match (media.as_str(), clause.version) {
            ("text/plain", None | Some("0.0.4")) => Format::Text,
            ("text/plain", Some("1.0.0")) => Format::Text1,
            ("application/openmetrics-text", None | Some("1.0.0")) => {
                Format::OpenMetrics { legacy: false }
            }
            ("application/openmetrics-text", Some("0.0.1")) => Format::OpenMetrics { legacy: true },
            (PROTO_MEDIA, _)
                if clause.proto == Some(PROTO_MESSAGE) && clause.encoding == Some("delimited") =>
            {
                Format::Protobuf
            }
            _ => continue,
        };
        let mut escaping = clause
            .escaping
            .and_then(Escaping::parse)
            .unwrap_or(Escaping::Underscores);
        if escaping == Escaping::AllowUtf8
            && matches!(format, Format::Text | Format::OpenMetrics { legacy: true })
        {
            escaping = Escaping::Underscores;
        }
        return Negotiated { format, escaping };
    }
    Negotiated {
        format: Format::Text,
        escaping: Escaping::Underscores,
    }
}

/// A content coding for the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// None.
    Identity,
    /// gzip.
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The `Content-Encoding` value, `None` for identity.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Compression::Identity => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// The coding an `Accept-Encoding` header ranks highest among zstd and
/// gzip (zstd first on a tie, as client_golang offers them); identity when
/// it allows neither. `*` stands for any coding not named.
pub fn compression(accept_encoding: Option<&str>) -> Compression {
    let mut zstd: Option<f32> = None;
    let mut gzip: Option<f32> = None;
    let mut wildcard: Option<f32> = None;
    for part in accept_encoding.unwrap_or("").split(',') {
        let mut params = part.split(';');
        let coding = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = params
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim() == "q")
            .map_or(1.0, |(_, v)| parse_q(v));
        match coding.as_str() {
            "zstd" => zstd = Some(q),
            "gzip" | "x-gzip" => gzip = Some(q),
            "*" => wildcard = Some(q),
            _ => {}
        }
    }
    let zstd = zstd.or(wildcard).unwrap_or(0.0);
    let gzip = gzip.or(wildcard).unwrap_or(0.0);
    if zstd > 0.0 && zstd >= gzip {
        Compression::Zstd
    } else if gzip > 0.0 {
        Compression::Gzip
    } else {
        Compression::Identity
    }
}

#[cfg(test)]
mod scrapers;
#[cfg(test)]
mod tests;
