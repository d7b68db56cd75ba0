//! OpenMetrics 1.0 text format: metadata under the family name (without
//! `_total` / `_info`), units, exemplars on counters and buckets, `_created`
//! samples, timestamps in seconds, and the closing `# EOF`.

use super::{Blocks, Encoder, Extra, Line, Num, Numbers, has_utf8_names, write_meta};
use crate::exposition::fmt;
use crate::exposition::model::{Exemplar, Family, Histogram, Series, State, Summary};

/// `Content-Type` for OpenMetrics 1.0.0.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// `Content-Type` for OpenMetrics 0.0.1, for clients that ask for exactly
/// that version (its wire format is the same).
pub const CONTENT_TYPE_0_0_1: &str = "application/openmetrics-text; version=0.0.1; charset=utf-8";

/// Canonical floats, timestamps in seconds.
const NUMBERS: Numbers = Numbers {
    float: fmt::write_float_canonical,
    timestamp: fmt::write_timestamp_seconds,
};

/// Appends the exposition of `families` (in the order given) and `# EOF`.
pub fn encode(families: &[Family], out: &mut Vec<u8>) {
    super::encode(families, &mut OpenMetrics::new(out));
}

/// The OpenMetrics 1.0 encoder, writing into a buffer.
pub struct OpenMetrics<'a> {
    out: &'a mut Vec<u8>,
    /// The current family has names that may need quotes.
    utf8: bool,
    /// Label blocks kept for later families.
    blocks: Blocks,
}

impl OpenMetrics<'_> {
    fn line<'a>(
        &self,
        family: &'a Family,
        series: &'a Series,
        suffix: &'a str,
        extra: Extra<'a>,
    ) -> Line<'a> {
        Line {
            name: family.openmetrics_name(),
            suffix,
            family,
            values: &series.label_values,
            extra,
            utf8: self.utf8,
        }
    }

    fn sample(
        &mut self,
        line: Line<'_>,
        timestamp: Option<crate::exposition::model::Timestamp>,
        value: Num,
        exemplar: Option<&Exemplar>,
    ) {
        let out = &mut *self.out;
        line.write_sample(out, NUMBERS, (value, timestamp), &mut self.blocks);
        if let Some(ex) = exemplar {
            out.extend_from_slice(b" # {");
            for (i, label) in ex.labels.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(label.name.as_bytes());
                out.extend_from_slice(b"=\"");
                fmt::write_escaped_value(out, &label.value);
                out.push(b'"');
            }
            out.extend_from_slice(b"} ");
            fmt::write_float_canonical(out, ex.value);
            if let Some(ts) = ex.timestamp {
                out.push(b' ');
                fmt::write_timestamp_seconds(out, ts);
            }
        }
        out.push(b'\n');
    }

    fn plain(&mut self, family: &Family, series: &Series, suffix: &str, value: Num) {
        let line = self.line(family, series, suffix, Extra::None);
        self.sample(line, series.timestamp(), value, None);
    }

    fn created(&mut self, family: &Family, series: &Series) {
        if let Some(t) = series.created() {
            self.line(family, series, "_created", Extra::None)
                .write_name(self.out, NUMBERS, &mut self.blocks);
            self.out.push(b' ');
            fmt::write_timestamp_seconds(self.out, t);
            self.out.push(b'\n');
        }
    }

    fn buckets(&mut self, family: &Family, series: &Series, h: &Histogram, gauge: bool) {
        for b in &h.buckets {
            let le = self.line(
                family,
                series,
                "_bucket",
                Extra::Number("le", b.upper_bound),
            );
            let count = Num::Count(b.cumulative_count);
            self.sample(le, series.timestamp(), count, b.exemplar.as_ref());
        }
        if h.buckets.is_empty() {
            // A native histogram without classic buckets: OpenMetrics 1.0
            // has no native buckets, so the +Inf bucket carries the count.
            let le = self.line(
                family,
                series,
                "_bucket",
                Extra::Number("le", f64::INFINITY),
            );
            self.sample(le, series.timestamp(), Num::Count(h.count), None);
        }
        // OpenMetrics 1.0: with a negative bucket threshold the sum is no
        // longer a counter and MUST NOT be exposed, and the count goes with
        // it (the +Inf bucket still carries it). Native buckets below zero
        // count as such.
        let negative = h.buckets.iter().any(|b| b.upper_bound < 0.0)
            || h.native.as_ref().is_some_and(|n| !n.negative.is_empty());
        if !negative {
            let (sum, count) = if gauge {
                ("_gsum", "_gcount")
            } else {
                ("_sum", "_count")
            };
            self.plain(family, series, sum, Num::Float(h.sum));
            self.plain(family, series, count, Num::Count(h.count));
        }
    }
}

impl<'a> OpenMetrics<'a> {
    /// An encoder appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        OpenMetrics {
            out,
            utf8: false,
            blocks: Blocks::default(),
        }
    }
}

impl Encoder for OpenMetrics<'_> {
    fn written(&self) -> usize {
        self.out.len()
    }

    fn family(&mut self, family: &Family) {
        self.utf8 = has_utf8_names(family);
        self.blocks.family(family, !self.utf8);
        let name = family.openmetrics_name();
        if !family.help.is_empty() {
            write_meta(self.out, "HELP", name, |o| {
                fmt::write_escaped_value(o, &family.help)
            });
        }
        let kind = family.kind.openmetrics_name();
        write_meta(self.out, "TYPE", name, |o| {
            o.extend_from_slice(kind.as_bytes())
        });
        if !family.unit.is_empty() {
            write_meta(self.out, "UNIT", name, |o| {
                o.extend_from_slice(family.unit.as_bytes())
            });
        }
    }

    fn counter(
        &mut self,
        family: &Family,
        series: &Series,
        total: f64,
        exemplar: Option<&Exemplar>,
    ) {
        let total_line = self.line(family, series, "_total", Extra::None);
        self.sample(total_line, series.timestamp(), Num::Float(total), exemplar);
        self.created(family, series);
    }

    fn gauge(&mut self, family: &Family, series: &Series, value: f64) {
        self.plain(family, series, "", Num::Float(value));
    }

    fn unknown(&mut self, family: &Family, series: &Series, value: f64) {
        self.plain(family, series, "", Num::Float(value));
    }

    fn histogram(&mut self, family: &Family, series: &Series, h: &Histogram) {
        self.buckets(family, series, h, false);
        self.created(family, series);
    }

    fn gauge_histogram(&mut self, family: &Family, series: &Series, h: &Histogram) {
        self.buckets(family, series, h, true);
    }

    fn summary(&mut self, family: &Family, series: &Series, s: &Summary) {
        for q in &s.quantiles {
            let quantile = self.line(family, series, "", Extra::Number("quantile", q.quantile));
            self.sample(quantile, series.timestamp(), Num::Float(q.value), None);
        }
        self.plain(family, series, "_sum", Num::Float(s.sum));
        self.plain(family, series, "_count", Num::Count(s.count));
        self.created(family, series);
    }

    fn info(&mut self, family: &Family, series: &Series) {
        self.plain(family, series, "_info", Num::Count(1));
    }

    fn stateset(&mut self, family: &Family, series: &Series, states: &[State]) {
        let name = family.openmetrics_name();
        for state in states {
            let label = self.line(family, series, "", Extra::Text(name, &state.name));
            self.sample(
                label,
                series.timestamp(),
                Num::Count(u64::from(state.enabled)),
                None,
            );
        }
    }

    fn finish(&mut self) {
        self.out.extend_from_slice(b"# EOF\n");
    }
}
