//! The one render step of every answer (`/metrics`, `/probe`, `check`):
//! families in name order, names escaped for the negotiated scheme (a
//! family whose name clashes once escaped left out), then encoded in the
//! negotiated format.
//!
//! `/metrics` renders in two parts: the plugins' families once per set of
//! collects and negotiated form ([`Part`]), shared by every scrape that
//! the same collects served, and each scrape's own host families put in
//! their places by name ([`Part::assemble`]). The bytes are those of one
//! [`render`] of all the families together.

use std::sync::Arc;

use bytes::Bytes;

use super::encode::{Encoder, encode_marked};
use super::escape::{self, EscapeClash};
use super::model::{Family, Kind, Value};
use super::negotiate::{Format, Negotiated};
use super::spare;
use super::{openmetrics, protobuf, text};

/// One rendered body, and the families escaping left out.
#[derive(Debug)]
pub struct Rendered {
    /// The encoded body, uncompressed.
    pub body: Vec<u8>,
    /// Families left out because their names clash once escaped.
    pub clashes: Vec<EscapeClash>,
}

/// Renders `families` as `negotiated` asks; `size_hint` sizes the body's
/// buffer (0: [`estimated_size`]). Families may come in any order: they
/// are put in name order first (a stable sort that finds already sorted
/// runs, as merged plugin output is, in one pass), so every answer is
/// deterministic.
pub fn render(families: Vec<Family>, negotiated: Negotiated, size_hint: usize) -> Rendered {
    let (families, clashes) = prepare(families, negotiated);
    let mut body = Vec::with_capacity(hint_or_estimate(size_hint, &families));
    write(negotiated.format, &families, &mut body, &mut Vec::new());
    finish(negotiated.format, &mut body);
    Rendered { body, clashes }
}

/// `size_hint`, or when it is 0, [`estimated_size`] of `families`.
fn hint_or_estimate(size_hint: usize, families: &[Family]) -> usize {
    if size_hint == 0 {
        estimated_size(families)
    } else {
        size_hint
    }
}

/// A guess at the bytes `families` take as text, meant to be a little
/// over, for a body's buffer when no earlier body gives its size: each
/// family's `# HELP` and `# TYPE`, and a line per series (per bucket or
/// quantile of a histogram or summary, per state of a stateset) as long as
/// its first series' name and labels, with room for a value of up to 24
/// bytes, a suffix and its label, and a timestamp if the first series has
/// one. A buffer that grows instead doubles, copying: a 10 MB body grew
/// through 8 MB into 16, and the blocks it left behind stayed in the heap
/// (peak RSS at 500×10 73 -> 63 MiB once sized). Room never written costs
/// no memory.
pub fn estimated_size(families: &[Family]) -> usize {
    families
        .iter()
        .map(|f| {
            let Some(first) = f.series.first() else {
                return 0;
            };
            let labels: usize = f
                .label_names
                .iter()
                .zip(first.label_values.as_slice())
                .map(|(name, value)| name.len() + value.len() + 4)
                .sum();
            // Lines per series, and what each line has beyond the name and
            // labels: `_bucket` and `le="..."`, `quantile="..."`, or the
            // stateset's own label.
            let (lines, suffix) = match &first.value {
                Value::Histogram(h) | Value::GaugeHistogram(h) => (h.buckets.len() + 3, 24),
                Value::Summary(s) => (s.quantiles.len() + 2, 24),
                Value::Stateset(states) => (states.len(), f.name.len() + 24),
                _ => (1, 0),
            };
            let timestamp = if first.times.is_some() { 32 } else { 0 };
            // Braces, a space, a value of up to 24 bytes, the line's end.
            let line = f.name.len() + labels + suffix + timestamp + 28;
            3 * f.name.len() + f.help.len() + 32 + f.series.len() * lines * line
        })
        .sum()
}

/// Families encoded once, without the format's end, with where each one
/// ends: the plugins' part of every `/metrics` answer of one set of
/// collects in one negotiated form.
#[derive(Debug)]
pub struct Part {
    negotiated: Negotiated,
    body: Bytes,
    /// The families as written, in body order: the ones given, shared,
    /// when nothing about them had to change.
    families: Arc<Vec<Family>>,
    /// Where each family's bytes end.
    ends: Vec<usize>,
    /// Families left out because their names clash once escaped.
    pub clashes: Vec<EscapeClash>,
}

/// A whole body in chunks (a [`Part`]'s pieces shared, the rest this
/// answer's own), and the families of its own that escaping left out.
#[derive(Debug)]
pub struct Assembled {
    /// The body's bytes, in order.
    pub chunks: Vec<Bytes>,
    /// Families left out because their names clash once escaped.
    pub clashes: Vec<EscapeClash>,
}

impl Part {
    /// Renders `families` as [`render`] does (`size_hint` as there), less
    /// the format's end, into
    /// the last part's buffer once that part is all sent
    /// ([`spare::BODIES`]). They are copied only when something about them
    /// must change (order, escaped names, a family the format cannot
    /// carry).
    pub fn render(families: &Arc<Vec<Family>>, negotiated: Negotiated, size_hint: usize) -> Part {
        let (families, clashes) = if ready(families, negotiated) {
            (Arc::clone(families), Vec::new())
        } else {
            let (families, clashes) = prepare(families.to_vec(), negotiated);
            (Arc::new(families), clashes)
        };
        let mut body = spare::BODIES.take(hint_or_estimate(size_hint, &families));
        let mut ends = Vec::with_capacity(families.len());
        write(negotiated.format, &families, &mut body, &mut ends);
        Part {
            negotiated,
            body: spare::BODIES.share(body),
            families,
            ends,
            clashes,
        }
    }

    /// Length of the part's bytes.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Whether the part has no bytes.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// The whole body: this part with `others` (none of which may share a
    /// name with this part's families, once escaped: the host's own, which
    /// validation keeps every plugin from taking) each in its place by
    /// name, and the format's end. The same bytes as [`render`] of all of
    /// them; only `others` are encoded.
    pub fn assemble(&self, others: Vec<Family>) -> Assembled {
        let (others, clashes) = prepare(others, self.negotiated);
        let format = self.negotiated.format;
        let mut own = Vec::new();
        let mut ends = Vec::with_capacity(others.len());
        write(format, &others, &mut own, &mut ends);
        finish(format, &mut own);
        let own = Bytes::from(own);
        let mut chunks = Vec::with_capacity(2 * others.len() + 2);
        // Bytes of this part sent so far, of `own` sent so far, and of
        // `own` ready to go before the next piece of this part.
        let (mut at, mut sent, mut ready) = (0, 0, 0);
        for (family, &end) in others.iter().zip(&ends) {
            let cut = self.end_before(&family.name);
            if cut > at {
                if ready > sent {
                    chunks.push(own.slice(sent..ready));
                    sent = ready;
                }
                chunks.push(self.body.slice(at..cut));
                at = cut;
            }
            ready = end;
        }
        if ready > sent {
            chunks.push(own.slice(sent..ready));
            sent = ready;
        }
        if self.body.len() > at {
            chunks.push(self.body.slice(at..));
        }
        if own.len() > sent {
            chunks.push(own.slice(sent..));
        }
        Assembled { chunks, clashes }
    }

    /// Where the bytes of this part's families named before `name` end.
    fn end_before(&self, name: &str) -> usize {
        let before = self.families.partition_point(|f| f.name.as_str() < name);
        before.checked_sub(1).map_or(0, |last| self.ends[last])
    }
}

/// Whether `families` are written as they are: in name order, no name
/// that escaping changes, none the format cannot carry. [`prepare`] would
/// give them back unchanged, with nothing left out.
fn ready(families: &[Family], negotiated: Negotiated) -> bool {
    let scheme = negotiated.escaping;
    let openmetrics = matches!(negotiated.format, Format::OpenMetrics { .. });
    families.is_sorted_by(|a, b| a.name <= b.name)
        && !escape::changes(families, scheme)
        && families.iter().all(|f| {
            escape::unwritable(f, scheme).is_none() && !(openmetrics && nan_sum(f).is_some())
        })
}

/// The families to write, in order, and those left out: sorted by name,
/// escaped, and without what the format cannot carry.
fn prepare(mut families: Vec<Family>, negotiated: Negotiated) -> (Vec<Family>, Vec<EscapeClash>) {
    families.sort_by(|a, b| a.name.cmp(&b.name));
    let (mut families, mut clashes) = escape::apply(families, negotiated.escaping);
    if let Format::OpenMetrics { .. } = negotiated.format {
        escape::leave_out(&mut families, &mut clashes, nan_sum);
    }
    (families, clashes)
}

/// Appends `families` in `format`, pushing where each ends onto `ends`.
fn write(format: Format, families: &[Family], out: &mut Vec<u8>, ends: &mut Vec<usize>) {
    match format {
        Format::Text | Format::Text1 => encode_marked(families, &mut text::Text::new(out), ends),
        Format::OpenMetrics { .. } => {
            encode_marked(families, &mut openmetrics::OpenMetrics::new(out), ends)
        }
        Format::Protobuf => encode_marked(families, &mut protobuf::Protobuf::new(out), ends),
    }
}

/// Appends the end of a body in `format` (OpenMetrics' `# EOF`).
fn finish(format: Format, out: &mut Vec<u8>) {
    match format {
        Format::Text | Format::Text1 => text::Text::new(out).finish(),
        Format::OpenMetrics { .. } => openmetrics::OpenMetrics::new(out).finish(),
        Format::Protobuf => protobuf::Protobuf::new(out).finish(),
    }
}

/// Why OpenMetrics cannot carry `family`: a histogram whose sum is NaN
/// (the contract and the Prometheus formats allow one; OpenMetrics does
/// not, and a strict parser refuses the whole response).
fn nan_sum(family: &Family) -> Option<String> {
    // Only a histogram's series are looked at: an OpenMetrics body of
    // gauges and counters costs no pass over its series here.
    if !matches!(family.kind, Kind::Histogram | Kind::GaugeHistogram) {
        return None;
    }
    family
        .series
        .iter()
        .any(|s| match &s.value {
            Value::Histogram(h) | Value::GaugeHistogram(h) => h.sum.is_nan(),
            _ => false,
        })
        .then(|| "a histogram sum of NaN, which OpenMetrics cannot carry".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::escape::Escaping;
    use crate::exposition::model::Histogram;

    fn gauge(name: &str) -> Family {
        let mut f = Family::new(Kind::Gauge, name, "h");
        f.push(vec![], Value::Gauge(1.0));
        f
    }

    #[test]
    fn families_come_out_in_name_order_and_a_clash_once_escaped_is_left_out() {
        let families = vec![gauge("b"), gauge("a.x"), gauge("a_x")];
        let negotiated = Negotiated {
            format: Format::Text,
            escaping: Escaping::Underscores,
        };
        let rendered = render(families, negotiated, 0);
        let text = String::from_utf8(rendered.body).unwrap();
        let names: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        assert_eq!(names, ["a_x", "b"]);
        assert_eq!(rendered.clashes.len(), 1, "{:?}", rendered.clashes);
    }

    fn counter(name: &str) -> Family {
        let mut f = Family::new(Kind::Counter, name, "c").with_labels(&["le.vel"]);
        f.push(
            vec!["x".into()],
            Value::Counter {
                total: 2.0,
                exemplar: None,
            },
        );
        f
    }

    #[test]
    fn a_part_assembled_with_other_families_is_the_body_of_all_of_them() {
        let plugins = || {
            vec![
                gauge("b_first"),
                counter("my.dotted"),
                gauge("q_mid"),
                gauge("zz"),
            ]
        };
        let host = || {
            vec![
                gauge("process_x"),
                gauge("a"),
                gauge("wasm_exporter_y"),
                gauge("zzz"),
            ]
        };
        let formats = [
            Format::Text,
            Format::Text1,
            Format::OpenMetrics { legacy: false },
            Format::Protobuf,
        ];
        for format in formats {
            for escaping in Escaping::ALL {
                let negotiated = Negotiated { format, escaping };
                let reversed: Vec<Family> = plugins().into_iter().rev().collect();
                let cases: [(Vec<Family>, Vec<Family>); 4] = [
                    (plugins(), host()),
                    (reversed, host()),
                    (plugins(), Vec::new()),
                    (Vec::new(), host()),
                ];
                for (ours, theirs) in cases {
                    let all: Vec<Family> = ours.iter().chain(&theirs).cloned().collect();
                    let whole = render(all, negotiated, 0).body;
                    let part = Part::render(&Arc::new(ours), negotiated, 0);
                    let assembled = part.assemble(theirs);
                    let chunks: Vec<u8> = assembled.chunks.concat();
                    assert_eq!(chunks, whole, "{negotiated:?}");
                    assert!(assembled.chunks.iter().all(|c| !c.is_empty()));
                }
            }
        }
        // The part is cut between families, never inside one: the host's
        // families sit between the plugins' in name order.
        let negotiated = Negotiated {
            format: Format::Text,
            escaping: Escaping::Underscores,
        };
        let chunks = Part::render(&Arc::new(plugins()), negotiated, 0)
            .assemble(host())
            .chunks;
        let starts: Vec<String> = chunks
            .iter()
            .map(|c| {
                String::from_utf8_lossy(c)
                    .lines()
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            starts,
            [
                "# HELP a h",
                "# HELP b_first h",
                "# HELP process_x h",
                "# HELP q_mid h",
                "# HELP wasm_exporter_y h",
                "# HELP zz h",
                "# HELP zzz h",
            ]
        );
    }

    /// The estimate that sizes a first body is over the bytes text and
    /// OpenMetrics write, and not far over, for the shapes a plugin sends:
    /// labelled gauges and counters with long values, histograms and
    /// summaries.
    #[test]
    fn the_estimated_size_is_a_little_over_the_body() {
        use crate::exposition::model::{Bucket, Quantile, Summary};
        let mut servers = Family::new(Kind::Gauge, "haproxy_server_bytes_in", "Bytes in.")
            .with_labels(&["backend", "server"]);
        let mut totals = Family::new(Kind::Counter, "requests_total", "Requests.")
            .with_labels(&["method", "code", "path"]);
        for i in 0..1000 {
            servers.push(
                vec![format!("b{i}"), format!("s{}", i % 10)],
                Value::Gauge(123_456_789_012.5 + f64::from(i)),
            );
            totals.push(
                vec!["GET".into(), "200".into(), format!("/api/v1/items/{i}")],
                Value::Counter {
                    total: 1e15 / f64::from(i + 1),
                    exemplar: None,
                },
            );
        }
        let mut latency =
            Family::new(Kind::Histogram, "latency_seconds", "Latency.").with_labels(&["route"]);
        let mut summary = Family::new(Kind::Summary, "rpc_seconds", "RPC.").with_labels(&["rpc"]);
        for i in 0..50 {
            let buckets = [0.005, 0.01, 0.1, 1.0, 10.0, f64::INFINITY]
                .iter()
                .enumerate()
                .map(|(k, &upper_bound)| Bucket {
                    upper_bound,
                    cumulative_count: 1_000_000 * k as u64,
                    exemplar: None,
                })
                .collect();
            latency.push(
                vec![format!("/r{i}")],
                Value::Histogram(Box::new(Histogram {
                    buckets,
                    sum: 12345.678,
                    count: 5_000_000,
                    native: None,
                })),
            );
            summary.push(
                vec![format!("rpc{i}")],
                Value::Summary(Box::new(Summary {
                    quantiles: [0.5, 0.9, 0.99]
                        .iter()
                        .map(|&quantile| Quantile {
                            quantile,
                            value: 0.123_456_789,
                        })
                        .collect(),
                    sum: 99.5,
                    count: 1000,
                })),
            );
        }
        for families in [vec![servers], vec![totals], vec![latency], vec![summary]] {
            let estimate = estimated_size(&families);
            for format in [Format::Text, Format::OpenMetrics { legacy: false }] {
                let negotiated = Negotiated {
                    format,
                    escaping: Escaping::Underscores,
                };
                let len = render(families.clone(), negotiated, 1).body.len();
                let name = &families[0].name;
                assert!(estimate >= len, "{name} {format:?}: {estimate} < {len}");
                // Not so far over that the spare buffer it sized is
                // dropped for the next body's hint (the last size and a
                // quarter; `spare::Spare::take`).
                assert!(
                    estimate <= 2 * len,
                    "{name} {format:?}: {estimate} > 2 × {len}"
                );
            }
        }
        assert_eq!(estimated_size(&[Family::new(Kind::Gauge, "g", "")]), 0);
    }

    #[test]
    fn a_nan_histogram_sum_is_left_out_of_openmetrics_only() {
        let mut h = Family::new(Kind::Histogram, "h", "");
        h.push(
            vec![],
            Value::Histogram(Box::new(Histogram {
                buckets: Vec::new(),
                sum: f64::NAN,
                count: 0,
                native: None,
            })),
        );
        let om = Negotiated {
            format: Format::OpenMetrics { legacy: false },
            escaping: Escaping::Underscores,
        };
        let rendered = render(vec![h.clone(), gauge("g")], om, 0);
        let body = String::from_utf8(rendered.body).unwrap();
        assert!(!body.contains("h_sum"), "{body}");
        assert!(body.contains("g 1"), "{body}");
        assert_eq!(rendered.clashes.len(), 1);
        let text = Negotiated {
            format: Format::Text,
            escaping: Escaping::Underscores,
        };
        let rendered = render(vec![h], text, 0);
        let body = String::from_utf8(rendered.body).unwrap();
        assert!(body.contains("h_sum NaN"), "{body}");
        assert!(rendered.clashes.is_empty());
    }
}
