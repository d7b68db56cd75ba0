//! Prometheus protobuf: length-delimited `io.prometheus.client.MetricFamily`
//! messages, the format Prometheus needs for native histograms.
//!
//! Written straight from the model with a few wire-format helpers (varints,
//! zigzag, fixed64, nested messages whose length is patched in when they
//! end); no generated code. Kinds the format lacks are written as
//! client_golang does: info as a gauge named `<base>_info` with the value 1,
//! a stateset as one gauge per state (labelled with the family's name), a
//! gauge histogram as `GAUGE_HISTOGRAM`. Classic buckets leave out `+Inf`
//! (its count is the sample count) unless it carries an exemplar.

use super::Encoder;
use crate::exposition::model::{
    Exemplar, Family, Histogram, Kind, Label, NativeBucket, Series, State, Summary, Timestamp,
};

/// The `Content-Type` of this format (without an escaping parameter).
pub const CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Appends the exposition of `families` (in the order given) to `out`.
pub fn encode(families: &[Family], out: &mut Vec<u8>) {
    super::encode(families, &mut Protobuf::new(out));
}

/// The protobuf encoder, writing into a buffer.
pub struct Protobuf<'a> {
    out: &'a mut Vec<u8>,
    /// Where the current family's message starts (after its length).
    family_start: usize,
}

// `MetricType` values.
const COUNTER: u64 = 0;
const GAUGE: u64 = 1;
const SUMMARY: u64 = 2;
const UNTYPED: u64 = 3;
const HISTOGRAM: u64 = 4;
const GAUGE_HISTOGRAM: u64 = 5;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const BYTES: u8 = 2;

/// `v` as a varint, on the stack: the bytes and how many there are.
fn varint_bytes(mut v: u64) -> ([u8; 10], usize) {
    let (mut bytes, mut n) = ([0u8; 10], 0);
    while v >= 0x80 {
        bytes[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    bytes[n] = v as u8;
    (bytes, n + 1)
}

/// `v` as a varint at the end of `out`: one push per byte (most varints
/// here are one byte; going through [`varint_bytes`] made every field
/// write ten and protobuf encoding 27 % slower).
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn uint(out: &mut Vec<u8>, field: u32, v: u64) {
    key(out, field, VARINT);
    varint(out, v);
}

fn sint(out: &mut Vec<u8>, field: u32, v: i64) {
    uint(out, field, ((v << 1) ^ (v >> 63)) as u64);
}

fn double(out: &mut Vec<u8>, field: u32, v: f64) {
    key(out, field, FIXED64);
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn string(out: &mut Vec<u8>, field: u32, s: &str) {
    key(out, field, BYTES);
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Starts a nested message in `field`: one byte is kept for its length,
/// which [`end`] fills in (moving the body when it needs more).
fn begin(out: &mut Vec<u8>, field: u32) -> usize {
    key(out, field, BYTES);
    out.push(0);
    out.len()
}

fn end(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start;
    if len < 0x80 {
        out[start - 1] = len as u8;
        return;
    }
    // A longer length: its varint on the stack, no allocation per message.
    let (prefix, n) = varint_bytes(len as u64);
    out[start - 1] = prefix[0];
    out.splice(start..start, prefix[1..n].iter().copied());
}

fn timestamp(out: &mut Vec<u8>, field: u32, t: Timestamp) {
    let at = begin(out, field);
    if t.seconds != 0 {
        uint(out, 1, t.seconds as u64);
    }
    if t.nanos != 0 {
        uint(out, 2, u64::from(t.nanos));
    }
    end(out, at);
}

fn label(out: &mut Vec<u8>, name: &str, value: &str) {
    let at = begin(out, 1);
    string(out, 1, name);
    string(out, 2, value);
    end(out, at);
}

fn exemplar(out: &mut Vec<u8>, field: u32, e: &Exemplar) {
    let at = begin(out, field);
    for Label { name, value } in &e.labels {
        label(out, name, value);
    }
    double(out, 2, e.value);
    if let Some(t) = e.timestamp {
        timestamp(out, 3, t);
    }
    end(out, at);
}

/// One side of a native histogram: spans (a new one after a gap of more
/// than two empty buckets, as client_golang does) and count deltas.
fn native_side(out: &mut Vec<u8>, span_field: u32, delta_field: u32, buckets: &[NativeBucket]) {
    let mut spans: Vec<(i32, u32)> = Vec::new();
    let mut deltas: Vec<i64> = Vec::with_capacity(buckets.len());
    let mut next_index = 0i32;
    let mut previous = 0i64;
    for b in buckets {
        let count = b.count as i64;
        let gap = b.index.wrapping_sub(next_index);
        match spans.last_mut() {
            Some(span) if (0..=2).contains(&gap) => {
                for _ in 0..gap {
                    deltas.push(-previous);
                    previous = 0;
                }
                span.1 += gap as u32 + 1;
            }
            Some(_) => spans.push((gap, 1)),
            None => spans.push((b.index, 1)),
        }
        deltas.push(count - previous);
        previous = count;
        next_index = b.index.wrapping_add(1);
    }
    for (offset, length) in spans {
        let at = begin(out, span_field);
        sint(out, 1, i64::from(offset));
        uint(out, 2, u64::from(length));
        end(out, at);
    }
    if !deltas.is_empty() {
        let at = begin(out, delta_field);
        for d in deltas {
            varint(out, ((d << 1) ^ (d >> 63)) as u64);
        }
        end(out, at);
    }
}

impl Protobuf<'_> {
    /// Starts a `Metric` with the series' labels (and `extra` after them).
    fn metric(&mut self, family: &Family, series: &Series, extra: Option<(&str, &str)>) -> usize {
        let at = begin(self.out, 4);
        for (name, value) in family.label_names.iter().zip(&series.label_values) {
            label(self.out, name, value);
        }
        if let Some((name, value)) = extra {
            label(self.out, name, value);
        }
        at
    }

    /// Ends a `Metric`, adding the series' timestamp.
    fn metric_end(&mut self, series: &Series, at: usize) {
        if let Some(t) = series.timestamp() {
            uint(self.out, 6, t.as_millis() as u64);
        }
        end(self.out, at);
    }

    /// A `Metric` holding one `{ value = 1 }` message in `field`.
    fn single(&mut self, family: &Family, series: &Series, field: u32, value: f64) {
        let at = self.metric(family, series, None);
        let inner = begin(self.out, field);
        double(self.out, 1, value);
        end(self.out, inner);
        self.metric_end(series, at);
    }

    fn histogram_metric(&mut self, family: &Family, series: &Series, h: &Histogram) {
        let out = &mut *self.out;
        let at = begin(out, 4);
        for (name, value) in family.label_names.iter().zip(&series.label_values) {
            label(out, name, value);
        }
        let hist = begin(out, 7);
        uint(out, 1, h.count);
        double(out, 2, h.sum);
        for b in &h.buckets {
            if b.upper_bound == f64::INFINITY && b.exemplar.is_none() {
                continue;
            }
            let bucket = begin(out, 3);
            uint(out, 1, b.cumulative_count);
            double(out, 2, b.upper_bound);
            if let Some(e) = &b.exemplar {
                exemplar(out, 3, e);
            }
            end(out, bucket);
        }
        if let Some(t) = series.created() {
            timestamp(out, 15, t);
        }
        if let Some(n) = &h.native {
            sint(out, 5, i64::from(n.schema));
            double(out, 6, n.zero_threshold);
            uint(out, 7, n.zero_count);
            native_side(out, 9, 10, &n.negative);
            if n.negative.is_empty() && n.positive.is_empty() {
                // A no-op span: without it an empty native histogram
                // reads as a classic one.
                let span = begin(out, 12);
                end(out, span);
            } else {
                native_side(out, 12, 13, &n.positive);
            }
            for e in &n.exemplars {
                exemplar(out, 16, e);
            }
        }
        end(out, hist);
        self.metric_end(series, at);
    }
}

impl<'a> Protobuf<'a> {
    /// An encoder appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Protobuf {
            out,
            family_start: 0,
        }
    }
}

impl Encoder for Protobuf<'_> {
    fn written(&self) -> usize {
        self.out.len()
    }

    fn family(&mut self, family: &Family) {
        // The family's length is not known yet: keep room for it.
        self.out.push(0);
        self.family_start = self.out.len();
        let kind = match family.kind {
            Kind::Counter => COUNTER,
            Kind::Gauge | Kind::Stateset | Kind::Info => GAUGE,
            Kind::Unknown => UNTYPED,
            Kind::Histogram => HISTOGRAM,
            Kind::GaugeHistogram => GAUGE_HISTOGRAM,
            Kind::Summary => SUMMARY,
        };
        if family.kind == Kind::Info {
            let info = format!("{}_info", family.openmetrics_name());
            string(self.out, 1, &info);
        } else {
            string(self.out, 1, &family.name);
        }
        if !family.help.is_empty() {
            string(self.out, 2, &family.help);
        }
        uint(self.out, 3, kind);
        if !family.unit.is_empty() {
            string(self.out, 5, &family.unit);
        }
    }

    fn counter(&mut self, family: &Family, series: &Series, total: f64, ex: Option<&Exemplar>) {
        let at = self.metric(family, series, None);
        let inner = begin(self.out, 3);
        double(self.out, 1, total);
        if let Some(e) = ex {
            exemplar(self.out, 2, e);
        }
        if let Some(t) = series.created() {
            timestamp(self.out, 3, t);
        }
        end(self.out, inner);
        self.metric_end(series, at);
    }

    fn gauge(&mut self, family: &Family, series: &Series, value: f64) {
        self.single(family, series, 2, value);
    }

    fn unknown(&mut self, family: &Family, series: &Series, value: f64) {
        self.single(family, series, 5, value);
    }

    fn histogram(&mut self, family: &Family, series: &Series, h: &Histogram) {
        self.histogram_metric(family, series, h);
    }

    fn gauge_histogram(&mut self, family: &Family, series: &Series, h: &Histogram) {
        self.histogram_metric(family, series, h);
    }

    fn summary(&mut self, family: &Family, series: &Series, s: &Summary) {
        let at = self.metric(family, series, None);
        let inner = begin(self.out, 4);
        uint(self.out, 1, s.count);
        double(self.out, 2, s.sum);
        for q in &s.quantiles {
            let quantile = begin(self.out, 3);
            double(self.out, 1, q.quantile);
            double(self.out, 2, q.value);
            end(self.out, quantile);
        }
        if let Some(t) = series.created() {
            timestamp(self.out, 4, t);
        }
        end(self.out, inner);
        self.metric_end(series, at);
    }

    fn info(&mut self, family: &Family, series: &Series) {
        self.single(family, series, 2, 1.0);
    }

    fn stateset(&mut self, family: &Family, series: &Series, states: &[State]) {
        let name = family.openmetrics_name();
        for state in states {
            let at = self.metric(family, series, Some((name, &state.name)));
            let inner = begin(self.out, 2);
            double(self.out, 1, if state.enabled { 1.0 } else { 0.0 });
            end(self.out, inner);
            self.metric_end(series, at);
        }
    }

    fn family_end(&mut self, _family: &Family) {
        end(self.out, self.family_start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(buckets: &[(i32, u64)]) -> Vec<u8> {
        let buckets: Vec<NativeBucket> = buckets
            .iter()
            .map(|&(index, count)| NativeBucket { index, count })
            .collect();
        let mut out = Vec::new();
        native_side(&mut out, 12, 13, &buckets);
        out
    }

    /// Spans and zigzag deltas as metrics.proto defines them; a gap of up
    /// to two buckets is filled with empty ones, a wider one starts a span.
    #[test]
    fn native_buckets_become_spans_and_deltas() {
        // (0..2, then 5): spans {0, 2} and {3, 1}; deltas 3, -2, 1.
        assert_eq!(
            side(&[(0, 3), (1, 1), (5, 2)]),
            [
                0x62, 4, 0x08, 0, 0x10, 2, // span offset 0, length 2
                0x62, 4, 0x08, 6, 0x10, 1, // span offset 3, length 1
                0x6a, 3, 6, 3, 2, // packed zigzag deltas 3, -2, 1
            ]
        );
        // A gap of one: one span, the empty bucket's delta brings it to 0.
        assert_eq!(
            side(&[(-2, 1), (0, 1)]),
            [0x62, 4, 0x08, 3, 0x10, 3, 0x6a, 3, 2, 1, 2]
        );
        assert_eq!(side(&[]), Vec::<u8>::new());
    }

    #[test]
    fn an_empty_native_histogram_gets_a_no_op_span_and_lengths_chain() {
        let mut family = Family::new(Kind::Histogram, "h", "");
        family.push(
            vec![],
            crate::exposition::model::Value::Histogram(Box::new(Histogram {
                buckets: Vec::new(),
                sum: 0.0,
                count: 0,
                native: Some(Box::new(crate::exposition::model::Native {
                    schema: 3,
                    zero_threshold: 0.0,
                    zero_count: 0,
                    negative: Vec::new(),
                    positive: Vec::new(),
                    exemplars: Vec::new(),
                })),
            })),
        );
        let mut out = Vec::new();
        encode(&[family.clone(), family], &mut out);
        // Two families, each prefixed with its length.
        let first = usize::from(out[0]);
        assert_eq!(usize::from(out[first + 1]), out.len() - first - 2);
        assert!(
            out.windows(2).any(|w| w == [0x62, 0]),
            "no no-op positive span in {out:02x?}"
        );
    }
}
