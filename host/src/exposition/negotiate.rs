//! Content negotiation from `Accept` and `Accept-Encoding`, as promhttp does
//! it: the highest-ranked acceptable type wins (by `q`, then specificity),
//! OpenMetrics only when asked for, text 0.0.4 otherwise.

/// An exposition format we can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text 0.0.4.
    Text,
    /// OpenMetrics text; `legacy` answers a client that asked for 0.0.1.
    OpenMetrics {
        /// The client asked for version 0.0.1 only.
        legacy: bool,
    },
}

impl Format {
    /// The `Content-Type` header value for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => super::text::CONTENT_TYPE,
            Format::OpenMetrics { legacy: false } => super::openmetrics::CONTENT_TYPE,
            Format::OpenMetrics { legacy: true } => super::openmetrics::CONTENT_TYPE_0_0_1,
        }
    }
}

struct Clause<'a> {
    media: &'a str,
    version: Option<&'a str>,
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
                match key.trim() {
                    "q" => clause.q = parse_q(value),
                    "version" => clause.version = Some(value.trim().trim_matches('"')),
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

/// Picks the format for an `Accept` header (absent: text 0.0.4).
pub fn negotiate(accept: Option<&str>) -> Format {
    for clause in clauses(accept.unwrap_or("")) {
        let media = clause.media.to_ascii_lowercase();
        match (media.as_str(), clause.version) {
            ("text/plain", None | Some("0.0.4")) => return Format::Text,
            ("application/openmetrics-text", None | Some("1.0.0")) => {
                return Format::OpenMetrics { legacy: false };
            }
            ("application/openmetrics-text", Some("0.0.1")) => {
                return Format::OpenMetrics { legacy: true };
            }
            _ => {}
        }
    }
    Format::Text
}

/// Whether an `Accept-Encoding` header allows gzip.
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let mut wildcard = false;
    for part in accept_encoding.unwrap_or("").split(',') {
        let mut params = part.split(';');
        let coding = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = params
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim() == "q")
            .map_or(1.0, |(_, v)| parse_q(v));
        match coding.as_str() {
            "gzip" | "x-gzip" => return q > 0.0,
            "*" => wildcard = q > 0.0,
            _ => {}
        }
    }
    wildcard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_2_42_gets_openmetrics_1() {
        let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(
            negotiate(Some(accept)),
            Format::OpenMetrics { legacy: false }
        );
    }

    #[test]
    fn defaults_and_fallbacks_are_text() {
        assert_eq!(negotiate(None), Format::Text);
        assert_eq!(negotiate(Some("*/*")), Format::Text);
        assert_eq!(negotiate(Some("application/json")), Format::Text);
        assert_eq!(negotiate(Some("text/plain;version=9.9.9")), Format::Text);
        // Protobuf is not offered, so the next clause decides.
        let proto = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;q=0.5";
        assert_eq!(
            negotiate(Some(proto)),
            Format::OpenMetrics { legacy: false }
        );
    }

    #[test]
    fn quality_and_versions_rank() {
        assert_eq!(
            negotiate(Some(
                "text/plain;q=0.5, application/openmetrics-text; version=0.0.1"
            )),
            Format::OpenMetrics { legacy: true }
        );
        assert_eq!(
            negotiate(Some(
                "application/openmetrics-text;q=0.2, text/plain;version=0.0.4"
            )),
            Format::Text
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text;q=0, */*")),
            Format::Text
        );
        assert_eq!(
            negotiate(Some("Application/OpenMetrics-Text; version=\"1.0.0\"")),
            Format::OpenMetrics { legacy: false }
        );
    }

    #[test]
    fn gzip() {
        assert!(accepts_gzip(Some("gzip, deflate, br")));
        assert!(accepts_gzip(Some("deflate;q=0.5, gzip;q=0.1")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("*, gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(None));
    }
}
