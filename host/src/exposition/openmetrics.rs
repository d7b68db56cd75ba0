//! OpenMetrics 1.0 text format: metadata under the family name (without
//! `_total` / `_info`), units, exemplars on counters and buckets, `_created`
//! samples, timestamps in seconds, and the closing `# EOF`.

use super::model::{Exemplar, Family, Histogram, Series, Value};
use super::{Extra, fmt, write_series_name};

/// `Content-Type` for OpenMetrics 1.0.0.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// `Content-Type` for OpenMetrics 0.0.1, for clients that ask for exactly
/// that version (its wire format is the same).
pub const CONTENT_TYPE_0_0_1: &str = "application/openmetrics-text; version=0.0.1; charset=utf-8";

/// Appends the exposition of `families` (in the order given) and `# EOF`.
pub fn encode(families: &[Family], out: &mut Vec<u8>) {
    for family in families.iter().filter(|f| !f.series.is_empty()) {
        encode_family(family, out);
    }
    out.extend_from_slice(b"# EOF\n");
}

fn metadata(out: &mut Vec<u8>, family: &Family, name: &str) {
    if !family.help.is_empty() {
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        fmt::write_escaped_value(out, &family.help);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(family.kind.openmetrics_name().as_bytes());
    out.push(b'\n');
    if !family.unit.is_empty() {
        out.extend_from_slice(b"# UNIT ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        out.extend_from_slice(family.unit.as_bytes());
        out.push(b'\n');
    }
}

/// How a sample's value is written.
enum Num {
    Float(f64),
    Uint(u64),
}

#[allow(clippy::too_many_arguments)]
fn sample(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    family: &Family,
    series: &Series,
    extra: Extra<'_>,
    value: Num,
    exemplar: Option<&Exemplar>,
) {
    write_series_name(out, name, suffix, family, &series.label_values, extra);
    out.push(b' ');
    match value {
        Num::Float(v) => fmt::write_float_canonical(out, v),
        Num::Uint(v) => fmt::write_uint(out, v),
    }
    if let Some(ts) = series.timestamp {
        out.push(b' ');
        fmt::write_timestamp_seconds(out, ts);
    }
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

fn created(out: &mut Vec<u8>, name: &str, family: &Family, series: &Series) {
    if let Some(t) = series.created {
        write_series_name(
            out,
            name,
            "_created",
            family,
            &series.label_values,
            Extra::None,
        );
        out.push(b' ');
        fmt::write_timestamp_seconds(out, t);
        out.push(b'\n');
    }
}

fn encode_family(family: &Family, out: &mut Vec<u8>) {
    let name = family.openmetrics_name();
    metadata(out, family, name);
    for series in &family.series {
        let plain = |out: &mut Vec<u8>, suffix: &str, value: Num| {
            sample(out, name, suffix, family, series, Extra::None, value, None);
        };
        match &series.value {
            Value::Counter { total, exemplar } => {
                sample(
                    out,
                    name,
                    "_total",
                    family,
                    series,
                    Extra::None,
                    Num::Float(*total),
                    exemplar.as_ref(),
                );
                created(out, name, family, series);
            }
            Value::Gauge(v) | Value::Unknown(v) => plain(out, "", Num::Float(*v)),
            Value::Info => plain(out, "_info", Num::Uint(1)),
            Value::Stateset(states) => {
                for state in states {
                    let extra = Extra::Str(name, &state.name);
                    sample(
                        out,
                        name,
                        "",
                        family,
                        series,
                        extra,
                        Num::Uint(u64::from(state.enabled)),
                        None,
                    );
                }
            }
            Value::Histogram(h) => {
                buckets(out, name, family, series, h);
                plain(out, "_sum", Num::Float(h.sum));
                plain(out, "_count", Num::Uint(h.count));
                created(out, name, family, series);
            }
            Value::GaugeHistogram(h) => {
                buckets(out, name, family, series, h);
                plain(out, "_gsum", Num::Float(h.sum));
                plain(out, "_gcount", Num::Uint(h.count));
            }
            Value::Summary(s) => {
                for q in &s.quantiles {
                    let extra = Extra::Float("quantile", q.quantile, true);
                    sample(
                        out,
                        name,
                        "",
                        family,
                        series,
                        extra,
                        Num::Float(q.value),
                        None,
                    );
                }
                plain(out, "_sum", Num::Float(s.sum));
                plain(out, "_count", Num::Uint(s.count));
                created(out, name, family, series);
            }
        }
    }
}

fn buckets(out: &mut Vec<u8>, name: &str, family: &Family, series: &Series, h: &Histogram) {
    for b in &h.buckets {
        let extra = Extra::Float("le", b.upper_bound, true);
        sample(
            out,
            name,
            "_bucket",
            family,
            series,
            extra,
            Num::Uint(b.cumulative_count),
            b.exemplar.as_ref(),
        );
    }
}
