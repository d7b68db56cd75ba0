//! Validation of one family, to the rules of client_golang's `Gatherers` and
//! of the exposition formats. The host trusts nothing a plugin returns.

use std::cmp::Ordering;
use std::sync::Arc;

use super::model::{
    Exemplar, Family, Histogram, Kind, LabelValue, Series, Timestamp, Value, cmp_label_values,
};

/// Why a family was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    /// The metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {0:?}")]
    MetricName(String),
    /// A label name is malformed, reserved or repeated.
    #[error("family {family}: invalid label name {label:?}: {why}")]
    LabelName {
        /// Family name.
        family: String,
        /// The label name.
        label: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The unit is malformed or not the name's suffix.
    #[error("family {family}: unit {unit:?} must be [a-zA-Z0-9_:]+ and end the name as _{unit}")]
    Unit {
        /// Family name.
        family: String,
        /// The unit.
        unit: String,
    },
    /// A series breaks a rule.
    #[error("family {family}, series {labels}: {why}")]
    Series {
        /// Family name.
        family: String,
        /// The series' label values, for the log.
        labels: String,
        /// What is wrong.
        why: String,
    },
    /// Two series have the same label values.
    #[error("family {family}: duplicate series {labels}")]
    Duplicate {
        /// Family name.
        family: String,
        /// The repeated label values.
        labels: String,
    },
}

/// Caps applied while validating.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest label value (and exemplar label value), in bytes.
    pub max_label_value_length: usize,
    /// Longest label name, in bytes.
    pub max_label_name_length: usize,
}

/// Longest combined length of an exemplar's label names and values, in
/// characters (OpenMetrics).
pub const MAX_EXEMPLAR_RUNES: usize = 128;

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn series_err(family: &Family, series: &Series, why: impl Into<String>) -> Invalid {
    Invalid::Series {
        family: family.name.clone(),
        labels: describe_labels(&family.label_names, &series.label_values),
        why: why.into(),
    }
}

/// `{a="x",b="y"}`, each value shortened for the log.
fn describe_labels(names: &[String], values: &[LabelValue]) -> String {
    let pairs: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| {
            let short: String = v.chars().take(64).collect();
            let more = if short.len() < v.len() { "..." } else { "" };
            format!("{n}={short:?}{more}")
        })
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// Checks `family` and sorts its series by label values, so that output is
/// deterministic. On error the family must be dropped whole.
pub fn validate(family: &mut Family, limits: Limits) -> Result<(), Invalid> {
    if !is_metric_name(&family.name) {
        return Err(Invalid::MetricName(family.name.clone()));
    }
    check_unit(family)?;
    check_label_names(family, limits)?;
    for series in family.series.iter() {
        check_series(family, series, limits)?;
    }
    sort_and_dedupe(family)
}

fn check_unit(family: &Family) -> Result<(), Invalid> {
    if family.unit.is_empty() {
        return Ok(());
    }
    let valid = family
        .unit
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
    let base = family.openmetrics_name();
    let suffixed = base
        .strip_suffix(family.unit.as_str())
        .is_some_and(|rest| rest.ends_with('_'));
    if valid && suffixed {
        Ok(())
    } else {
        Err(Invalid::Unit {
            family: family.name.clone(),
            unit: family.unit.clone(),
        })
    }
}

fn check_label_names(family: &Family, limits: Limits) -> Result<(), Invalid> {
    let bad = |label: &str, why| Invalid::LabelName {
        family: family.name.clone(),
        label: label.to_owned(),
        why,
    };
    for (i, label) in family.label_names.iter().enumerate() {
        if !is_label_name(label) {
            return Err(bad(label, "must match [a-zA-Z_][a-zA-Z0-9_]*"));
        }
        if label.len() > limits.max_label_name_length {
            return Err(bad(label, "longer than the label name limit"));
        }
        if label.starts_with("__") {
            return Err(bad(label, "names starting with __ are reserved"));
        }
        let reserved = match family.kind {
            Kind::Histogram | Kind::GaugeHistogram => label == "le",
            Kind::Summary => label == "quantile",
            Kind::Stateset => label == family.openmetrics_name(),
            _ => false,
        };
        if reserved {
            return Err(bad(label, "reserved for this metric type"));
        }
        if family.label_names[..i].contains(label) {
            return Err(bad(label, "given twice"));
        }
    }
    Ok(())
}

fn check_timestamp(t: Option<Timestamp>) -> Result<(), String> {
    match t {
        Some(t) if t.nanos >= 1_000_000_000 => {
            Err(format!("timestamp nanoseconds {} out of range", t.nanos))
        }
        _ => Ok(()),
    }
}

fn check_series(family: &Family, series: &Series, limits: Limits) -> Result<(), Invalid> {
    if series.label_values.len() != family.label_names.len() {
        return Err(series_err(
            family,
            series,
            format!(
                "{} label values for {} label names",
                series.label_values.len(),
                family.label_names.len()
            ),
        ));
    }
    if let Some(v) = series
        .label_values
        .iter()
        .find(|v| v.len() > limits.max_label_value_length)
    {
        return Err(series_err(
            family,
            series,
            format!(
                "label value of {} bytes exceeds the limit of {}",
                v.len(),
                limits.max_label_value_length
            ),
        ));
    }
    if series.value.kind() != family.kind {
        return Err(series_err(
            family,
            series,
            format!(
                "{} value in a {} family",
                series.value.kind().openmetrics_name(),
                family.kind.openmetrics_name()
            ),
        ));
    }
    check_timestamp(series.timestamp)
        .and_then(|()| check_timestamp(series.created))
        .and_then(|()| check_value(family, &series.value, limits))
        .map_err(|why| series_err(family, series, why))
}

fn check_value(family: &Family, value: &Value, limits: Limits) -> Result<(), String> {
    match value {
        Value::Counter { total, exemplar } => {
            if total.is_nan() || *total < 0.0 {
                return Err(format!("counter value {total} must be a number >= 0"));
            }
            check_exemplar(exemplar.as_ref(), limits)
        }
        Value::Gauge(_) | Value::Unknown(_) | Value::Info => Ok(()),
        Value::Histogram(h) | Value::GaugeHistogram(h) => check_histogram(h, limits),
        Value::Summary(s) => {
            let mut previous = None;
            for q in &s.quantiles {
                if !(0.0..=1.0).contains(&q.quantile) {
                    return Err(format!("quantile {} outside [0, 1]", q.quantile));
                }
                if previous.is_some_and(|p| p >= q.quantile) {
                    return Err("quantiles must be sorted and unique".into());
                }
                previous = Some(q.quantile);
            }
            if s.sum.is_nan() && s.count > 0 {
                return Err("summary sum is NaN".into());
            }
            Ok(())
        }
        Value::Stateset(states) => {
            for (i, state) in states.iter().enumerate() {
                if state.name.len() > limits.max_label_value_length {
                    return Err("state name exceeds the label value limit".into());
                }
                if states[..i].iter().any(|s| s.name == state.name) {
                    return Err(format!("state {:?} given twice", state.name));
                }
            }
            if states.is_empty() {
                return Err(format!("stateset {} has no states", family.name));
            }
            Ok(())
        }
    }
}

fn check_histogram(h: &Histogram, limits: Limits) -> Result<(), String> {
    let Some(last) = h.buckets.last() else {
        return Err("histogram has no buckets; the last must be +Inf".into());
    };
    if last.upper_bound != f64::INFINITY {
        return Err("histogram's last bucket must be +Inf".into());
    }
    if last.cumulative_count != h.count {
        return Err(format!(
            "+Inf bucket count {} differs from count {}",
            last.cumulative_count, h.count
        ));
    }
    for pair in h.buckets.windows(2) {
        if pair[0].upper_bound.partial_cmp(&pair[1].upper_bound) != Some(Ordering::Less) {
            return Err("bucket bounds must be sorted, unique and not NaN".into());
        }
        if pair[0].cumulative_count > pair[1].cumulative_count {
            return Err(format!(
                "bucket counts must be cumulative: le={} has {} > le={} has {}",
                pair[0].upper_bound,
                pair[0].cumulative_count,
                pair[1].upper_bound,
                pair[1].cumulative_count
            ));
        }
    }
    for b in &h.buckets {
        if b.upper_bound.is_nan() {
            return Err("bucket bound is NaN".into());
        }
        check_exemplar(b.exemplar.as_ref(), limits)?;
    }
    Ok(())
}

fn check_exemplar(exemplar: Option<&Exemplar>, limits: Limits) -> Result<(), String> {
    let Some(ex) = exemplar else { return Ok(()) };
    let mut runes = 0;
    for (i, label) in ex.labels.iter().enumerate() {
        if !is_label_name(&label.name) || label.name.starts_with("__") {
            return Err(format!("invalid exemplar label name {:?}", label.name));
        }
        if ex.labels[..i].iter().any(|l| l.name == label.name) {
            return Err(format!("exemplar label {:?} given twice", label.name));
        }
        if label.value.len() > limits.max_label_value_length {
            return Err("exemplar label value exceeds the label value limit".into());
        }
        runes += label.name.chars().count() + label.value.chars().count();
    }
    if runes > MAX_EXEMPLAR_RUNES {
        return Err(format!(
            "exemplar labels have {runes} characters, more than {MAX_EXEMPLAR_RUNES}"
        ));
    }
    check_timestamp(ex.timestamp)
}

fn sort_and_dedupe(family: &mut Family) -> Result<(), Invalid> {
    let sorted = family
        .series
        .windows(2)
        .all(|w| cmp_label_values(&w[0].label_values, &w[1].label_values).is_lt());
    if !sorted {
        Arc::make_mut(&mut family.series)
            .sort_unstable_by(|a, b| cmp_label_values(&a.label_values, &b.label_values));
        if let Some(w) = family
            .series
            .windows(2)
            .find(|w| cmp_label_values(&w[0].label_values, &w[1].label_values).is_eq())
        {
            return Err(Invalid::Duplicate {
                family: family.name.clone(),
                labels: describe_labels(&family.label_names, &w[0].label_values),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::model::{Bucket, Label, Quantile, State, Summary};

    const LIMITS: Limits = Limits {
        max_label_value_length: 64,
        max_label_name_length: 32,
    };

    fn gauge(name: &str, labels: &[&str]) -> Family {
        Family::new(Kind::Gauge, name, "help").with_labels(labels)
    }

    fn vals(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn hist(buckets: &[(f64, u64)], count: u64) -> Value {
        Value::Histogram(Histogram {
            buckets: buckets
                .iter()
                .map(|&(upper_bound, cumulative_count)| Bucket {
                    upper_bound,
                    cumulative_count,
                    exemplar: None,
                })
                .collect(),
            sum: 1.0,
            count,
        })
    }

    #[test]
    fn names() {
        for good in ["a", "_a", "a:b_c9", ":x"] {
            assert!(is_metric_name(good), "{good}");
        }
        for bad in ["", "9a", "a-b", "ä", "a b"] {
            assert!(!is_metric_name(bad), "{bad}");
        }
        assert!(is_label_name("le_2"));
        assert!(!is_label_name("a:b"));
        assert!(!is_label_name("1a"));
    }

    #[test]
    fn rejects_bad_names_and_reserved_labels() {
        let mut f = gauge("bad-name", &[]);
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::MetricName(_))
        ));
        let mut f = gauge("ok", &["__secret"]);
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::LabelName { .. })
        ));
        let mut f = gauge("ok", &["a", "a"]);
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::LabelName { .. })
        ));
        let mut f = Family::new(Kind::Histogram, "h", "").with_labels(&["le"]);
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::LabelName { .. })
        ));
        let mut f = Family::new(Kind::Summary, "s", "").with_labels(&["quantile"]);
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::LabelName { .. })
        ));
        let mut f = Family::new(Kind::Stateset, "mode", "").with_labels(&["mode"]);
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::LabelName { .. })
        ));
        let mut f = gauge("ok", &[&"n".repeat(33)]);
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::LabelName { .. })
        ));
        // `le` is an ordinary label on a gauge.
        let mut f = gauge("g", &["le"]);
        assert_eq!(validate(&mut f, LIMITS), Ok(()));
    }

    #[test]
    fn units_must_suffix_the_name() {
        let mut f = gauge("latency_seconds", &[]).with_unit("seconds");
        assert_eq!(validate(&mut f, LIMITS), Ok(()));
        let mut f = Family::new(Kind::Counter, "sent_bytes_total", "").with_unit("bytes");
        assert_eq!(validate(&mut f, LIMITS), Ok(()));
        let mut f = gauge("latency", &[]).with_unit("seconds");
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::Unit { .. })
        ));
        let mut f = gauge("xseconds", &[]).with_unit("seconds");
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::Unit { .. })
        ));
    }

    #[test]
    fn label_values_must_match_names_and_limits() {
        let mut f = gauge("g", &["a", "b"]);
        f.push(vals(&["x"]), Value::Gauge(1.0));
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::Series { .. })
        ));
        let mut f = gauge("g", &["a"]);
        f.push(vec!["x".repeat(65)], Value::Gauge(1.0));
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::Series { .. })
        ));
        let mut f = gauge("g", &["a"]);
        f.push(vals(&["x"]), Value::Unknown(1.0));
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::Series { .. })
        ));
    }

    #[test]
    fn duplicates_are_found_and_series_sorted() {
        let mut f = gauge("g", &["a"]);
        for v in ["c", "a", "b"] {
            f.push(vals(&[v]), Value::Gauge(1.0));
        }
        assert_eq!(validate(&mut f, LIMITS), Ok(()));
        let order: Vec<&str> = f.series.iter().map(|s| &*s.label_values[0]).collect();
        assert_eq!(order, ["a", "b", "c"]);
        f.push(vals(&["b"]), Value::Gauge(2.0));
        assert!(matches!(
            validate(&mut f, LIMITS),
            Err(Invalid::Duplicate { .. })
        ));
    }

    #[test]
    fn counters_must_be_non_negative_numbers() {
        for bad in [f64::NAN, -1.0] {
            let mut f = Family::new(Kind::Counter, "c_total", "");
            f.push(
                vec![],
                Value::Counter {
                    total: bad,
                    exemplar: None,
                },
            );
            assert!(validate(&mut f, LIMITS).is_err(), "{bad}");
        }
        let mut f = Family::new(Kind::Counter, "c_total", "");
        f.push(
            vec![],
            Value::Counter {
                total: f64::INFINITY,
                exemplar: None,
            },
        );
        assert_eq!(validate(&mut f, LIMITS), Ok(()));
    }

    #[test]
    fn histograms_need_cumulative_sorted_buckets_ending_in_inf() {
        type Case = (&'static [(f64, u64)], u64, bool);
        let cases: &[Case] = &[
            (&[(1.0, 1), (f64::INFINITY, 2)], 2, true),
            (&[(1.0, 1)], 1, false),
            (&[(1.0, 3), (f64::INFINITY, 2)], 2, false),
            (&[(2.0, 1), (1.0, 1), (f64::INFINITY, 2)], 2, false),
            (&[(1.0, 1), (1.0, 1), (f64::INFINITY, 2)], 2, false),
            (&[(1.0, 1), (f64::INFINITY, 2)], 3, false),
            (&[(f64::NAN, 1), (f64::INFINITY, 2)], 2, false),
            (&[], 0, false),
        ];
        for (buckets, count, ok) in cases {
            let mut f = Family::new(Kind::Histogram, "h", "");
            f.push(vec![], hist(buckets, *count));
            assert_eq!(
                validate(&mut f, LIMITS).is_ok(),
                *ok,
                "{buckets:?} count {count}"
            );
        }
    }

    #[test]
    fn exemplars_are_capped_at_128_runes() {
        let ex = |value: &str| Value::Counter {
            total: 1.0,
            exemplar: Some(Exemplar {
                labels: vec![Label {
                    name: "trace_id".into(),
                    value: value.into(),
                }],
                value: 1.0,
                timestamp: None,
            }),
        };
        // 8 + 120 = 128 characters (multi-byte ones count once).
        let mut f = Family::new(Kind::Counter, "c_total", "");
        f.push(vec![], ex(&"ü".repeat(120)));
        let limits = Limits {
            max_label_value_length: 1024,
            max_label_name_length: 32,
        };
        assert_eq!(validate(&mut f, limits), Ok(()));
        let mut f = Family::new(Kind::Counter, "c_total", "");
        f.push(vec![], ex(&"ü".repeat(121)));
        assert!(validate(&mut f, limits).is_err());
    }

    #[test]
    fn summaries_and_statesets() {
        let summary = |qs: &[f64]| {
            Value::Summary(Summary {
                quantiles: qs
                    .iter()
                    .map(|&quantile| Quantile {
                        quantile,
                        value: f64::NAN,
                    })
                    .collect(),
                sum: 0.0,
                count: 0,
            })
        };
        for (qs, ok) in [
            (&[0.5, 0.9][..], true),
            (&[0.9, 0.5][..], false),
            (&[1.5][..], false),
        ] {
            let mut f = Family::new(Kind::Summary, "s", "");
            f.push(vec![], summary(qs));
            assert_eq!(validate(&mut f, LIMITS).is_ok(), ok, "{qs:?}");
        }
        let state = |name: &str| State {
            name: name.into(),
            enabled: true,
        };
        let mut f = Family::new(Kind::Stateset, "mode", "");
        f.push(vec![], Value::Stateset(vec![state("a"), state("a")]));
        assert!(validate(&mut f, LIMITS).is_err());
    }
}
