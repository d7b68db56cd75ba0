//! Prometheus text format 0.0.4.
//!
//! Kinds the format lacks are written as client libraries do: info and
//! stateset as gauges, gauge histograms as a histogram of `_bucket` samples
//! followed by `_gcount` and `_gsum` gauges, unknown as `untyped`. Exemplars,
//! units and `_created` do not exist in this format and are left out.

use super::model::{Family, Kind, Series, Value};
use super::{Extra, Num, Syntax, fmt, write_meta, write_sample};

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
        write_meta(out, "HELP", name, |o| fmt::write_escaped_help(o, help));
    }
    write_meta(out, "TYPE", name, |o| {
        o.extend_from_slice(type_name.as_bytes())
    });
}

fn sample(
    out: &mut Vec<u8>,
    name: (&str, &str),
    family: &Family,
    series: &Series,
    extra: Extra<'_>,
    value: Num,
) {
    write_sample(out, Syntax::Text, name, family, series, extra, value);
    out.push(b'\n');
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
    for series in family.series.iter() {
        let emit = |out: &mut Vec<u8>, suffix: &str, extra: Extra<'_>, value: Num| {
            sample(out, (name, suffix), family, series, extra, value);
        };
        match &series.value {
            Value::Counter { total: v, .. } | Value::Gauge(v) | Value::Unknown(v) => {
                emit(out, "", Extra::None, Num::Float(*v));
            }
            Value::Info => emit(out, "", Extra::None, Num::Float(1.0)),
            Value::Stateset(states) => {
                for state in states {
                    let v = if state.enabled { 1.0 } else { 0.0 };
                    emit(out, "", Extra::Str(name, &state.name), Num::Float(v));
                }
            }
            Value::Histogram(h) | Value::GaugeHistogram(h) => {
                for b in &h.buckets {
                    let le = Extra::Float("le", b.upper_bound, false);
                    emit(out, "_bucket", le, Num::Uint(b.cumulative_count));
                }
                if matches!(series.value, Value::Histogram(_)) {
                    emit(out, "_sum", Extra::None, Num::Float(h.sum));
                    emit(out, "_count", Extra::None, Num::Uint(h.count));
                }
            }
            Value::Summary(s) => {
                for q in &s.quantiles {
                    let quantile = Extra::Float("quantile", q.quantile, false);
                    emit(out, "", quantile, Num::Float(q.value));
                }
                emit(out, "_sum", Extra::None, Num::Float(s.sum));
                emit(out, "_count", Extra::None, Num::Uint(s.count));
            }
        }
    }
    if family.kind == Kind::GaugeHistogram {
        // The gauge-histogram totals are gauges of their own in this format.
        for (suffix, total) in [("_gcount", true), ("_gsum", false)] {
            let gauge = format!("{name}{suffix}");
            header(out, &gauge, &family.help, "gauge");
            for series in family.series.iter() {
                if let Value::GaugeHistogram(h) = &series.value {
                    let value = if total {
                        Num::Uint(h.count)
                    } else {
                        Num::Float(h.sum)
                    };
                    sample(out, (&gauge, ""), family, series, Extra::None, value);
                }
            }
        }
    }
}
