//! Encoders: one walk over the validated model calls an [`Encoder`], with
//! one method per kind, so that a format is one file implementing the trait
//! (client_rust's `MetricEncoder` is the model). The line-writing helpers
//! the text formats share live here too.

mod blocks;
pub mod openmetrics;
pub mod protobuf;
pub mod text;

pub use blocks::Blocks;

use super::fmt;
use super::model::{
    Exemplar, Family, Histogram, LabelValue, Series, State, Summary, Timestamp, Value,
};
use super::validate::rules::{is_legacy_label_name, is_legacy_metric_name};

/// A format. The walk calls [`Encoder::family`], then one method per series
/// by kind, then [`Encoder::family_end`]; [`Encoder::finish`] closes the
/// body.
pub trait Encoder {
    /// Before a family's series: its metadata.
    fn family(&mut self, family: &Family);
    /// A counter's total, with its exemplar.
    fn counter(
        &mut self,
        family: &Family,
        series: &Series,
        total: f64,
        exemplar: Option<&Exemplar>,
    );
    /// A gauge value.
    fn gauge(&mut self, family: &Family, series: &Series, value: f64);
    /// An untyped value.
    fn unknown(&mut self, family: &Family, series: &Series, value: f64);
    /// A classic histogram.
    fn histogram(&mut self, family: &Family, series: &Series, histogram: &Histogram);
    /// A gauge histogram.
    fn gauge_histogram(&mut self, family: &Family, series: &Series, histogram: &Histogram);
    /// A summary.
    fn summary(&mut self, family: &Family, series: &Series, summary: &Summary);
    /// An info series.
    fn info(&mut self, family: &Family, series: &Series);
    /// A stateset.
    fn stateset(&mut self, family: &Family, series: &Series, states: &[State]);
    /// After a family's series.
    fn family_end(&mut self, _family: &Family) {}
    /// After the last family.
    fn finish(&mut self) {}
    /// Bytes written so far.
    fn written(&self) -> usize;
}

/// Walks `families` in the order given, skipping empty ones.
pub fn encode(families: &[Family], encoder: &mut impl Encoder) {
    encode_marked(families, encoder, &mut Vec::new());
    encoder.finish();
}

/// Walks `families` as [`encode`] does, without finishing the body, and
/// pushes onto `ends` where each family's bytes end (one entry per family
/// given, an empty one included), so that a body can be cut between
/// families.
pub fn encode_marked(families: &[Family], encoder: &mut impl Encoder, ends: &mut Vec<usize>) {
    for family in families {
        if !family.series.is_empty() {
            encode_family(family, encoder);
        }
        ends.push(encoder.written());
    }
}

fn encode_family(family: &Family, encoder: &mut impl Encoder) {
    encoder.family(family);
    for series in family.series.iter() {
        match &series.value {
            Value::Counter { total, exemplar } => {
                encoder.counter(family, series, *total, exemplar.as_deref())
            }
            Value::Gauge(v) => encoder.gauge(family, series, *v),
            Value::Unknown(v) => encoder.unknown(family, series, *v),
            Value::Histogram(h) => encoder.histogram(family, series, h),
            Value::GaugeHistogram(h) => encoder.gauge_histogram(family, series, h),
            Value::Summary(s) => encoder.summary(family, series, s),
            Value::Info => encoder.info(family, series),
            Value::Stateset(states) => encoder.stateset(family, series, states),
        }
    }
    encoder.family_end(family);
}

/// How a text format writes numbers: the only thing the sample lines of
/// text 0.0.4 and OpenMetrics do not share.
#[derive(Clone, Copy)]
pub struct Numbers {
    /// A float value or bound (`le`, `quantile`).
    pub float: fn(&mut Vec<u8>, f64),
    /// A sample's timestamp.
    pub timestamp: fn(&mut Vec<u8>, Timestamp),
}

/// A label a format adds after the series' own.
#[derive(Clone, Copy)]
pub enum Extra<'a> {
    /// None.
    None,
    /// A bucket bound or quantile, written as the format writes floats.
    Number(&'a str, f64),
    /// A stateset's state, as a label named after the family.
    Text(&'a str, &'a str),
}

/// A sample value.
#[derive(Clone, Copy)]
pub enum Num {
    /// Written as the format writes floats.
    Float(f64),
    /// A count, written as an integer.
    Count(u64),
}

/// The name and labels of one sample line.
pub struct Line<'a> {
    /// Metric name (the family's, or the form the format uses).
    pub name: &'a str,
    /// Suffix such as `_bucket`, or empty.
    pub suffix: &'a str,
    /// The series' family, for its label names.
    pub family: &'a Family,
    /// The series' label values.
    pub values: &'a [LabelValue],
    /// A label added after the series' own.
    pub extra: Extra<'a>,
    /// Whether the family has a name outside the legacy character set
    /// ([`has_utf8_names`]); only then are names looked at for quoting.
    pub utf8: bool,
}

/// Whether `family`'s name or a label name is outside the legacy character
/// set, so that text formats must quote it. Asked once per family: asking
/// per line costs as much as the rest of the text encoding.
pub fn has_utf8_names(family: &Family) -> bool {
    !is_legacy_metric_name(&family.name)
        || family.label_names.iter().any(|l| !is_legacy_label_name(l))
}

impl Line<'_> {
    /// Appends `name{a="x",b="y",extra="..."}`; the braces are left out
    /// when there are no labels at all. A name outside the legacy
    /// character set (only served under `escaping=allow-utf-8`) is quoted
    /// inside the braces, `{"my.metric","label.name"="v"}`, as text 1.0.0
    /// and Prometheus 3's OpenMetrics parser read it. A line without an
    /// extra label takes its braces from `blocks` when they are kept.
    pub fn write_name(&self, out: &mut Vec<u8>, numbers: Numbers, blocks: &mut Blocks) {
        let quoted = self.utf8 && !is_legacy_metric_name(self.name);
        if !quoted {
            out.extend_from_slice(self.name.as_bytes());
            out.extend_from_slice(self.suffix.as_bytes());
            if matches!(self.extra, Extra::None) {
                if !self.family.label_names.is_empty() {
                    let braces = |out: &mut Vec<u8>| self.write_braces(out, numbers, false);
                    blocks.labels(out, self.values, braces);
                }
                return;
            }
        }
        self.write_braces(out, numbers, quoted);
    }

    /// `{`, the quoted name when `quoted`, the labels and the extra one,
    /// `}`.
    fn write_braces(&self, out: &mut Vec<u8>, numbers: Numbers, quoted: bool) {
        let mut first = true;
        if quoted {
            out.extend_from_slice(b"{\"");
            fmt::write_escaped_value(out, self.name);
            fmt::write_escaped_value(out, self.suffix);
            out.push(b'"');
            first = false;
        } else {
            out.push(b'{');
        }
        let utf8 = self.utf8;
        let mut label = |out: &mut Vec<u8>, name: &str| {
            if !first {
                out.push(b',');
            }
            first = false;
            if utf8 {
                write_label_name(out, name);
            } else {
                out.extend_from_slice(name.as_bytes());
            }
            out.extend_from_slice(b"=\"");
        };
        for (name, value) in self.family.label_names.iter().zip(self.values) {
            label(out, name);
            fmt::write_escaped_value(out, value);
            out.push(b'"');
        }
        match self.extra {
            Extra::None => {}
            Extra::Number(name, v) => {
                label(out, name);
                (numbers.float)(out, v);
                out.push(b'"');
            }
            Extra::Text(name, v) => {
                label(out, name);
                fmt::write_escaped_value(out, v);
                out.push(b'"');
            }
        }
        out.push(b'}');
    }

    /// Appends `name{labels} value[ timestamp]`, without the newline.
    pub fn write_sample(
        &self,
        out: &mut Vec<u8>,
        numbers: Numbers,
        (value, timestamp): (Num, Option<Timestamp>),
        blocks: &mut Blocks,
    ) {
        self.write_name(out, numbers, blocks);
        out.push(b' ');
        match value {
            Num::Float(v) => (numbers.float)(out, v),
            Num::Count(v) => fmt::write_uint(out, v),
        }
        if let Some(ts) = timestamp {
            out.push(b' ');
            (numbers.timestamp)(out, ts);
        }
    }
}

/// `name` as it is, or quoted and escaped when it is outside the legacy
/// character set.
fn write_maybe_quoted(out: &mut Vec<u8>, name: &str, legacy: bool) {
    if legacy {
        out.extend_from_slice(name.as_bytes());
    } else {
        out.push(b'"');
        fmt::write_escaped_value(out, name);
        out.push(b'"');
    }
}

/// A label name, quoted when it is outside the legacy character set.
fn write_label_name(out: &mut Vec<u8>, name: &str) {
    write_maybe_quoted(out, name, is_legacy_label_name(name));
}

/// Appends a metadata line `# KEYWORD name body`, `body` writing the text;
/// a name outside the legacy character set is quoted.
pub fn write_meta(out: &mut Vec<u8>, keyword: &str, name: &str, body: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(b"# ");
    out.extend_from_slice(keyword.as_bytes());
    out.push(b' ');
    write_maybe_quoted(out, name, is_legacy_metric_name(name));
    out.push(b' ');
    body(out);
    out.push(b'\n');
}

#[cfg(test)]
mod golden;
