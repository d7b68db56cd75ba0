//! Exposition: the data model, validation and merge of plugin output, and
//! the encoders for Prometheus text 0.0.4 and OpenMetrics 1.0.
//!
//! Everything here is pure (no wasmtime, no I/O), so it is tested directly.

pub mod fmt;
pub mod merge;
pub mod model;
pub mod negotiate;
pub mod openmetrics;
pub mod text;
pub mod validate;

use model::{Family, LabelValue, Series};

/// An extra label a format adds to a series: `le`, `quantile`, or a
/// stateset's state.
enum Extra<'a> {
    None,
    Float(&'a str, f64, bool),
    Str(&'a str, &'a str),
}

/// Appends `name{a="x",b="y",extra="..."}`; the braces are left out when
/// there are no labels at all. `canonical` selects OpenMetrics float form for
/// a float extra.
fn write_series_name(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    family: &Family,
    values: &[LabelValue],
    extra: Extra<'_>,
) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    let has_extra = !matches!(extra, Extra::None);
    if family.label_names.is_empty() && !has_extra {
        return;
    }
    out.push(b'{');
    let mut first = true;
    for (label, value) in family.label_names.iter().zip(values) {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(label.as_bytes());
        out.extend_from_slice(b"=\"");
        fmt::write_escaped_value(out, value);
        out.push(b'"');
    }
    if has_extra && !first {
        out.push(b',');
    }
    match extra {
        Extra::None => {}
        Extra::Float(label, v, canonical) => {
            out.extend_from_slice(label.as_bytes());
            out.extend_from_slice(b"=\"");
            if canonical {
                fmt::write_float_canonical(out, v);
            } else {
                fmt::write_float(out, v);
            }
            out.push(b'"');
        }
        Extra::Str(label, v) => {
            out.extend_from_slice(label.as_bytes());
            out.extend_from_slice(b"=\"");
            fmt::write_escaped_value(out, v);
            out.push(b'"');
        }
    }
    out.push(b'}');
}

/// A sample value as the formats write it.
enum Num {
    Float(f64),
    Uint(u64),
}

/// Which format a sample is written for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Syntax {
    /// Text 0.0.4: Go floats, timestamps in milliseconds.
    Text,
    /// OpenMetrics: canonical floats, timestamps in seconds.
    OpenMetrics,
}

/// Appends `name{labels} value[ timestamp]`, without the newline.
fn write_sample(
    out: &mut Vec<u8>,
    syntax: Syntax,
    (name, suffix): (&str, &str),
    family: &Family,
    series: &Series,
    extra: Extra<'_>,
    value: Num,
) {
    write_series_name(out, name, suffix, family, &series.label_values, extra);
    out.push(b' ');
    match (value, syntax) {
        (Num::Float(v), Syntax::Text) => fmt::write_float(out, v),
        (Num::Float(v), Syntax::OpenMetrics) => fmt::write_float_canonical(out, v),
        (Num::Uint(v), _) => fmt::write_uint(out, v),
    }
    if let Some(ts) = series.timestamp {
        out.push(b' ');
        match syntax {
            Syntax::Text => fmt::write_int(out, ts.as_millis()),
            Syntax::OpenMetrics => fmt::write_timestamp_seconds(out, ts),
        }
    }
}

/// Appends a metadata line `# KEYWORD name body`, `body` writing the text.
fn write_meta(out: &mut Vec<u8>, keyword: &str, name: &str, body: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(b"# ");
    out.extend_from_slice(keyword.as_bytes());
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    body(out);
    out.push(b'\n');
}
