//! Prometheus text format 0.0.4.
//!
//! Kinds the format lacks are written as client libraries do: info and
//! stateset as gauges, gauge histograms as a histogram of `_bucket` samples
//! followed by `_gcount` and `_gsum` gauges, unknown as `untyped`. Exemplars,
//! units and `_created` do not exist in this format and are left out.

use super::model::{Family, Histogram, Kind, Series, Value};
use super::{Extra, fmt, write_series_name};

/// The `Content-Type` of this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Appends the exposition of `families` (in the order given) to `out`.
pub fn encode(families: &[Family], out: &mut Vec<u8>) {
    for family in families.iter().filter(|f| !f.series.is_empty()) {
        encode_family(family, out);
    }
}

fn header(out: &mut Vec<u8>, name: &str, help: &str, type_name: &str) {
    if !help.is_empty() {
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        fmt::write_escaped_help(out, help);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(type_name.as_bytes());
    out.push(b'\n');
}

fn end_sample(out: &mut Vec<u8>, series: &Series) {
    if let Some(ts) = series.timestamp {
        out.push(b' ');
        fmt::write_int(out, ts.as_millis());
    }
    out.push(b'\n');
}

fn float_sample(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    family: &Family,
    series: &Series,
    extra: Extra<'_>,
    v: f64,
) {
    write_series_name(out, name, suffix, family, &series.label_values, extra);
    out.push(b' ');
    fmt::write_float(out, v);
    end_sample(out, series);
}

fn uint_sample(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    family: &Family,
    series: &Series,
    extra: Extra<'_>,
    v: u64,
) {
    write_series_name(out, name, suffix, family, &series.label_values, extra);
    out.push(b' ');
    fmt::write_uint(out, v);
    end_sample(out, series);
}

fn encode_family(family: &Family, out: &mut Vec<u8>) {
    let name = family.name.as_str();
    match family.kind {
        Kind::Counter => header(out, name, &family.help, "counter"),
        Kind::Gauge | Kind::Stateset => header(out, name, &family.help, "gauge"),
        Kind::Unknown => header(out, name, &family.help, "untyped"),
        Kind::Histogram | Kind::GaugeHistogram => header(out, name, &family.help, "histogram"),
        Kind::Summary => header(out, name, &family.help, "summary"),
        Kind::Info => {}
    }
    let info_name;
    let name = if family.kind == Kind::Info {
        info_name = format!("{}_info", family.openmetrics_name());
        header(out, &info_name, &family.help, "gauge");
        info_name.as_str()
    } else {
        name
    };
    for series in &family.series {
        match &series.value {
            Value::Counter { total: v, .. } | Value::Gauge(v) | Value::Unknown(v) => {
                float_sample(out, name, "", family, series, Extra::None, *v);
            }
            Value::Info => float_sample(out, name, "", family, series, Extra::None, 1.0),
            Value::Stateset(states) => {
                for state in states {
                    let v = if state.enabled { 1.0 } else { 0.0 };
                    float_sample(
                        out,
                        name,
                        "",
                        family,
                        series,
                        Extra::Str(name, &state.name),
                        v,
                    );
                }
            }
            Value::Histogram(h) => {
                buckets(out, name, family, series, h);
                float_sample(out, name, "_sum", family, series, Extra::None, h.sum);
                uint_sample(out, name, "_count", family, series, Extra::None, h.count);
            }
            Value::GaugeHistogram(h) => buckets(out, name, family, series, h),
            Value::Summary(s) => {
                for q in &s.quantiles {
                    float_sample(
                        out,
                        name,
                        "",
                        family,
                        series,
                        Extra::Float("quantile", q.quantile, false),
                        q.value,
                    );
                }
                float_sample(out, name, "_sum", family, series, Extra::None, s.sum);
                uint_sample(out, name, "_count", family, series, Extra::None, s.count);
            }
        }
    }
    if family.kind == Kind::GaugeHistogram {
        // The gauge-histogram totals are gauges of their own in this format.
        let gcount = format!("{name}_gcount");
        header(out, &gcount, &family.help, "gauge");
        for series in &family.series {
            if let Value::GaugeHistogram(h) = &series.value {
                uint_sample(out, &gcount, "", family, series, Extra::None, h.count);
            }
        }
        let gsum = format!("{name}_gsum");
        header(out, &gsum, &family.help, "gauge");
        for series in &family.series {
            if let Value::GaugeHistogram(h) = &series.value {
                float_sample(out, &gsum, "", family, series, Extra::None, h.sum);
            }
        }
    }
}

fn buckets(out: &mut Vec<u8>, name: &str, family: &Family, series: &Series, h: &Histogram) {
    for b in &h.buckets {
        uint_sample(
            out,
            name,
            "_bucket",
            family,
            series,
            Extra::Float("le", b.upper_bound, false),
            b.cumulative_count,
        );
    }
}
