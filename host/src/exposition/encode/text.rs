//! Prometheus text format 0.0.4.
//!
//! Kinds the format lacks are written as client libraries do: info and
//! stateset as gauges, gauge histograms as a histogram of `_bucket` samples
//! followed by `_gcount` and `_gsum` gauges, unknown as `untyped`. Exemplars,
//! units and `_created` do not exist in this format and are left out. Of a
//! native histogram it shows the classic buckets the plugin gave, else the
//! `+Inf` bucket, with `_sum` and `_count`, as client_golang does.

use super::{Blocks, Encoder, Extra, Line, Num, Numbers, has_utf8_names, write_meta};
use crate::exposition::fmt;
use crate::exposition::model::{Exemplar, Family, Histogram, Kind, Series, State, Summary, Value};

/// The `Content-Type` of this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `Content-Type` of text 1.0.0 (the same lines, names outside the
/// legacy character set quoted), before its escaping parameter.
pub const CONTENT_TYPE_1_0_0: &str = "text/plain; version=1.0.0; charset=utf-8";

/// Go floats, timestamps in milliseconds.
const NUMBERS: Numbers = Numbers {
    float: fmt::write_float,
    timestamp: |out, ts| fmt::write_int(out, ts.as_millis()),
};

/// Appends the exposition of `families` (in the order given) to `out`.
pub fn encode(families: &[Family], out: &mut Vec<u8>) {
    super::encode(families, &mut Text::new(out));
}

/// The text 0.0.4 encoder, writing into a buffer.
pub struct Text<'a> {
    out: &'a mut Vec<u8>,
    /// The name samples take: the family's, or `<base>_info` for info.
    name: String,
    /// The current family has names that may need quotes.
    utf8: bool,
    /// Label blocks kept for later families.
    blocks: Blocks,
}

/// `# HELP` (when there is help) and `# TYPE` lines for `name`.
fn header(out: &mut Vec<u8>, name: &str, help: &str, type_name: &str) {
    if !help.is_empty() {
        write_meta(out, "HELP", name, |o| fmt::write_escaped_help(o, help));
    }
    write_meta(out, "TYPE", name, |o| {
        o.extend_from_slice(type_name.as_bytes())
    });
}

impl Text<'_> {
    fn sample(
        &mut self,
        family: &Family,
        series: &Series,
        suffix: &str,
        extra: Extra<'_>,
        value: Num,
    ) {
        let line = Line {
            name: &self.name,
            suffix,
            family,
            values: &series.label_values,
            extra,
            utf8: self.utf8,
        };
        let value = (value, series.timestamp());
        line.write_sample(self.out, NUMBERS, value, &mut self.blocks);
        self.out.push(b'\n');
    }

    fn buckets(&mut self, family: &Family, series: &Series, h: &Histogram) {
        for (upper_bound, count) in h.classic_buckets() {
            let le = Extra::Number("le", upper_bound);
            self.sample(family, series, "_bucket", le, Num::Count(count));
        }
    }
}

impl<'a> Text<'a> {
    /// An encoder appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Text {
            out,
            name: String::new(),
            utf8: false,
            blocks: Blocks::default(),
        }
    }
}

impl Encoder for Text<'_> {
    fn written(&self) -> usize {
        self.out.len()
    }

    fn family(&mut self, family: &Family) {
        self.name.clear();
        self.utf8 = has_utf8_names(family);
        self.blocks.family(family, !self.utf8);
        let type_name = match family.kind {
            Kind::Counter => "counter",
            Kind::Gauge | Kind::Stateset | Kind::Info => "gauge",
            Kind::Unknown => "untyped",
            Kind::Histogram | Kind::GaugeHistogram => "histogram",
            Kind::Summary => "summary",
        };
        if family.kind == Kind::Info {
            self.name.push_str(family.openmetrics_name());
            self.name.push_str("_info");
        } else {
            self.name.push_str(&family.name);
        }
        header(self.out, &self.name, &family.help, type_name);
    }

    fn counter(&mut self, family: &Family, series: &Series, total: f64, _: Option<&Exemplar>) {
        self.sample(family, series, "", Extra::None, Num::Float(total));
    }

    fn gauge(&mut self, family: &Family, series: &Series, value: f64) {
        self.sample(family, series, "", Extra::None, Num::Float(value));
    }

    fn unknown(&mut self, family: &Family, series: &Series, value: f64) {
        self.sample(family, series, "", Extra::None, Num::Float(value));
    }

    fn histogram(&mut self, family: &Family, series: &Series, h: &Histogram) {
        self.buckets(family, series, h);
        self.sample(family, series, "_sum", Extra::None, Num::Float(h.sum));
        self.sample(family, series, "_count", Extra::None, Num::Count(h.count));
    }

    fn gauge_histogram(&mut self, family: &Family, series: &Series, h: &Histogram) {
        // The totals follow the family as gauges of their own.
        self.buckets(family, series, h);
    }

    fn summary(&mut self, family: &Family, series: &Series, s: &Summary) {
        for q in &s.quantiles {
            let quantile = Extra::Number("quantile", q.quantile);
            self.sample(family, series, "", quantile, Num::Float(q.value));
        }
        self.sample(family, series, "_sum", Extra::None, Num::Float(s.sum));
        self.sample(family, series, "_count", Extra::None, Num::Count(s.count));
    }

    fn info(&mut self, family: &Family, series: &Series) {
        self.sample(family, series, "", Extra::None, Num::Float(1.0));
    }

    fn stateset(&mut self, family: &Family, series: &Series, states: &[State]) {
        for state in states {
            let v = if state.enabled { 1.0 } else { 0.0 };
            let label = Extra::Text(&family.name, &state.name);
            self.sample(family, series, "", label, Num::Float(v));
        }
    }

    fn family_end(&mut self, family: &Family) {
        if family.kind != Kind::GaugeHistogram {
            return;
        }
        // The gauge-histogram totals are gauges of their own in this format.
        for suffix in ["_gcount", "_gsum"] {
            self.name.clear();
            self.name.push_str(&family.name);
            self.name.push_str(suffix);
            self.blocks.family(family, !self.utf8);
            header(self.out, &self.name, &family.help, "gauge");
            for series in family.series.iter() {
                if let Value::GaugeHistogram(h) = &series.value {
                    let value = if suffix == "_gcount" {
                        Num::Count(h.count)
                    } else {
                        Num::Float(h.sum)
                    };
                    self.sample(family, series, "", Extra::None, value);
                }
            }
        }
    }
}
