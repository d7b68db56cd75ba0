//! OpenMetrics 1.0 text format: metadata under the family name (without
//! `_total` / `_info`), units, exemplars on counters and buckets, `_created`
//! samples, timestamps in seconds, and the closing `# EOF`.

use super::model::{Exemplar, Family, Series, Value};
use super::{Extra, Num, Syntax, fmt, write_meta, write_sample, write_series_name};

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
        write_meta(out, "HELP", name, |o| {
            fmt::write_escaped_value(o, &family.help)
        });
    }
    let kind = family.kind.openmetrics_name();
    write_meta(out, "TYPE", name, |o| o.extend_from_slice(kind.as_bytes()));
    if !family.unit.is_empty() {
        write_meta(out, "UNIT", name, |o| {
            o.extend_from_slice(family.unit.as_bytes())
        });
    }
}

fn sample(
    out: &mut Vec<u8>,
    name: (&str, &str),
    family: &Family,
    series: &Series,
    extra: Extra<'_>,
    value: Num,
    exemplar: Option<&Exemplar>,
) {
    write_sample(out, Syntax::OpenMetrics, name, family, series, extra, value);
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
    for series in family.series.iter() {
        let emit = |out: &mut Vec<u8>,
                    suffix: &str,
                    extra: Extra<'_>,
                    value: Num,
                    ex: Option<&Exemplar>| {
            sample(out, (name, suffix), family, series, extra, value, ex);
        };
        let plain = |out: &mut Vec<u8>, suffix: &str, value: Num| {
            emit(out, suffix, Extra::None, value, None)
        };
        match &series.value {
            Value::Counter { total, exemplar } => {
                emit(
                    out,
                    "_total",
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
                    let enabled = Num::Uint(u64::from(state.enabled));
                    emit(out, "", Extra::Str(name, &state.name), enabled, None);
                }
            }
            Value::Histogram(h) | Value::GaugeHistogram(h) => {
                for b in &h.buckets {
                    let le = Extra::Float("le", b.upper_bound, true);
                    emit(
                        out,
                        "_bucket",
                        le,
                        Num::Uint(b.cumulative_count),
                        b.exemplar.as_ref(),
                    );
                }
                let gauge = matches!(series.value, Value::GaugeHistogram(_));
                // OpenMetrics 1.0: with a negative bucket threshold the sum
                // is no longer a counter and MUST NOT be exposed, and the
                // count goes with it (the +Inf bucket still carries it).
                if h.buckets.iter().all(|b| b.upper_bound >= 0.0) {
                    plain(out, if gauge { "_gsum" } else { "_sum" }, Num::Float(h.sum));
                    let count = if gauge { "_gcount" } else { "_count" };
                    plain(out, count, Num::Uint(h.count));
                }
                if !gauge {
                    created(out, name, family, series);
                }
            }
            Value::Summary(s) => {
                for q in &s.quantiles {
                    let quantile = Extra::Float("quantile", q.quantile, true);
                    emit(out, "", quantile, Num::Float(q.value), None);
                }
                plain(out, "_sum", Num::Float(s.sum));
                plain(out, "_count", Num::Uint(s.count));
                created(out, name, family, series);
            }
        }
    }
}
