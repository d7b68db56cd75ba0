//! The one render step of every answer (`/metrics`, `/probe`, `check`):
//! families in name order, names escaped for the negotiated scheme (a
//! family whose name clashes once escaped left out), then encoded in the
//! negotiated format.

use super::escape::{self, EscapeClash};
use super::model::{Family, Kind, Value};
use super::negotiate::{Format, Negotiated};
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
/// buffer. Families may come in any order: they are put in name order
/// first (a stable sort that finds already sorted runs, as merged plugin
/// output is, in one pass), so every answer is deterministic.
pub fn render(mut families: Vec<Family>, negotiated: Negotiated, size_hint: usize) -> Rendered {
    families.sort_by(|a, b| a.name.cmp(&b.name));
    let (mut families, mut clashes) = escape::apply(families, negotiated.escaping);
    if let Format::OpenMetrics { .. } = negotiated.format {
        escape::leave_out(&mut families, &mut clashes, nan_sum);
    }
    let mut body = Vec::with_capacity(size_hint);
    match negotiated.format {
        Format::Text | Format::Text1 => text::encode(&families, &mut body),
        Format::OpenMetrics { .. } => openmetrics::encode(&families, &mut body),
        Format::Protobuf => protobuf::encode(&families, &mut body),
    }
    Rendered { body, clashes }
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

    #[test]
    fn a_nan_histogram_sum_is_left_out_of_openmetrics_only() {
        let mut h = Family::new(Kind::Histogram, "h", "");
        h.push(
            vec![],
            Value::Histogram(Histogram {
                buckets: Vec::new(),
                sum: f64::NAN,
                count: 0,
                native: None,
            }),
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
