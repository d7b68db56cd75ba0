//! The rules one family obeys, from client_golang's `Gatherers` and the
//! exposition formats: names, unit, label names, each series' labels and
//! value by kind, exemplars, and no duplicate series.

use std::cmp::Ordering;
use std::sync::Arc;

use super::{Invalid, Limits, MAX_EXEMPLAR_RUNES, Rule, check_label_name, is_metric_name};
use crate::exposition::model::{
    Exemplar, Family, Histogram, Kind, LabelValue, Series, Timestamp, Value, cmp_label_values,
};

fn series_err(family: &Family, series: &Series, rule: Rule, why: impl Into<String>) -> Invalid {
    Invalid {
        family: family.name.clone(),
        labels: Some(describe_labels(&family.label_names, &series.label_values)),
        rule,
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

/// Checks one family and sorts its series by label values, so that output
/// is deterministic. On error the family must be dropped whole.
pub fn validate(family: &mut Family, limits: Limits) -> Result<(), Invalid> {
    if !is_metric_name(&family.name) {
        return Err(Invalid::new(
            &family.name,
            Rule::MetricName,
            format!(
                "invalid metric name {:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*",
                family.name
            ),
        ));
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
        Err(Invalid::new(
            &family.name,
            Rule::Unit,
            format!(
                "unit {:?} must be [a-zA-Z0-9_:]+ and end the name as _{}",
                family.unit, family.unit
            ),
        ))
    }
}

fn check_label_names(family: &Family, limits: Limits) -> Result<(), Invalid> {
    let bad = |label: &str, rule, why: &str| {
        Invalid::new(
            &family.name,
            rule,
            format!("invalid label name {label:?}: {why}"),
        )
    };
    for (i, label) in family.label_names.iter().enumerate() {
        check_label_name(label, limits.max_label_name_length)
            .map_err(|(rule, why)| bad(label, rule, why))?;
        let reserved = match family.kind {
            Kind::Histogram | Kind::GaugeHistogram => label == "le",
            Kind::Summary => label == "quantile",
            Kind::Stateset => label == family.openmetrics_name(),
            _ => false,
        };
        if reserved {
            return Err(bad(
                label,
                Rule::LabelNameForKind,
                "reserved for this metric type",
            ));
        }
        if family.label_names[..i].contains(label) {
            return Err(bad(label, Rule::LabelNameRepeated, "given twice"));
        }
    }
    Ok(())
}

type Problem = (Rule, String);

fn check_timestamp(t: Option<Timestamp>) -> Result<(), Problem> {
    match t {
        Some(t) if t.nanos >= 1_000_000_000 => Err((
            Rule::Timestamp,
            format!("timestamp nanoseconds {} out of range", t.nanos),
        )),
        _ => Ok(()),
    }
}

fn check_series(family: &Family, series: &Series, limits: Limits) -> Result<(), Invalid> {
    let fail = |(rule, why): Problem| series_err(family, series, rule, why);
    if series.label_values.len() != family.label_names.len() {
        return Err(fail((
            Rule::LabelShape,
            format!(
                "{} label values for {} label names",
                series.label_values.len(),
                family.label_names.len()
            ),
        )));
    }
    if let Some(v) = series
        .label_values
        .iter()
        .find(|v| v.len() > limits.max_label_value_length)
    {
        return Err(fail((
            Rule::LabelValueLength,
            format!(
                "label value of {} bytes exceeds the limit of {}",
                v.len(),
                limits.max_label_value_length
            ),
        )));
    }
    if series.value.kind() != family.kind {
        return Err(fail((
            Rule::ValueKind,
            format!(
                "{} value in a {} family",
                series.value.kind().openmetrics_name(),
                family.kind.openmetrics_name()
            ),
        )));
    }
    check_timestamp(series.timestamp)
        .and_then(|()| check_timestamp(series.created))
        .and_then(|()| check_value(family, &series.value, limits))
        .map_err(fail)
}

fn check_value(family: &Family, value: &Value, limits: Limits) -> Result<(), Problem> {
    match value {
        Value::Counter { total, exemplar } => {
            if total.is_nan() || *total < 0.0 {
                return Err((
                    Rule::CounterValue,
                    format!("counter value {total} must be a number >= 0"),
                ));
            }
            check_exemplar(exemplar.as_ref(), limits)
        }
        Value::Gauge(_) | Value::Unknown(_) | Value::Info => Ok(()),
        Value::Histogram(h) | Value::GaugeHistogram(h) => check_histogram(h, limits),
        Value::Summary(s) => {
            let bad = |why: String| Err((Rule::Quantiles, why));
            let mut previous = None;
            for q in &s.quantiles {
                if !(0.0..=1.0).contains(&q.quantile) {
                    return bad(format!("quantile {} outside [0, 1]", q.quantile));
                }
                if previous.is_some_and(|p| p >= q.quantile) {
                    return bad("quantiles must be sorted and unique".into());
                }
                previous = Some(q.quantile);
            }
            if s.sum.is_nan() && s.count > 0 {
                return bad("summary sum is NaN".into());
            }
            Ok(())
        }
        Value::Stateset(states) => {
            let bad = |why: String| Err((Rule::States, why));
            for (i, state) in states.iter().enumerate() {
                if state.name.len() > limits.max_label_value_length {
                    return bad("state name exceeds the label value limit".into());
                }
                if states[..i].iter().any(|s| s.name == state.name) {
                    return bad(format!("state {:?} given twice", state.name));
                }
            }
            if states.is_empty() {
                return bad(format!("stateset {} has no states", family.name));
            }
            Ok(())
        }
    }
}

fn check_histogram(h: &Histogram, limits: Limits) -> Result<(), Problem> {
    let bad = |why: String| Err((Rule::Buckets, why));
    let Some(last) = h.buckets.last() else {
        return bad("histogram has no buckets; the last must be +Inf".into());
    };
    if last.upper_bound != f64::INFINITY {
        return bad("histogram's last bucket must be +Inf".into());
    }
    if last.cumulative_count != h.count {
        return bad(format!(
            "+Inf bucket count {} differs from count {}",
            last.cumulative_count, h.count
        ));
    }
    for pair in h.buckets.windows(2) {
        if pair[0].upper_bound.partial_cmp(&pair[1].upper_bound) != Some(Ordering::Less) {
            return bad("bucket bounds must be sorted, unique and not NaN".into());
        }
        if pair[0].cumulative_count > pair[1].cumulative_count {
            return bad(format!(
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
            return bad("bucket bound is NaN".into());
        }
        check_exemplar(b.exemplar.as_ref(), limits)?;
    }
    Ok(())
}

fn check_exemplar(exemplar: Option<&Exemplar>, limits: Limits) -> Result<(), Problem> {
    let Some(ex) = exemplar else { return Ok(()) };
    let bad = |why: String| Err((Rule::Exemplar, why));
    let mut runes = 0;
    for (i, label) in ex.labels.iter().enumerate() {
        if check_label_name(&label.name, limits.max_label_name_length).is_err() {
            return bad(format!("invalid exemplar label name {:?}", label.name));
        }
        if ex.labels[..i].iter().any(|l| l.name == label.name) {
            return bad(format!("exemplar label {:?} given twice", label.name));
        }
        if label.value.len() > limits.max_label_value_length {
            return bad("exemplar label value exceeds the label value limit".into());
        }
        runes += label.name.chars().count() + label.value.chars().count();
    }
    if runes > MAX_EXEMPLAR_RUNES {
        return bad(format!(
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
            return Err(Invalid {
                family: family.name.clone(),
                labels: Some(describe_labels(&family.label_names, &w[0].label_values)),
                rule: Rule::DuplicateSeries,
                why: "duplicate series".into(),
            });
        }
    }
    Ok(())
}
