//! The one validation step: a plugin's raw output in, valid families out.
//! Caps, shape, the host's own names, and the rules of client_golang's
//! `Gatherers` and of the exposition formats all live here; the host trusts
//! nothing a plugin returns.
//!
//! A collect over a cap is refused whole ([`Refusal`]); a family that breaks
//! a rule is dropped whole ([`Invalid`], naming the [`Rule`]) and the rest
//! is kept.

use std::cmp::Ordering;
use std::sync::Arc;

use super::model::{
    Exemplar, Family, Histogram, Kind, LabelValue, Series, Timestamp, Value, cmp_label_values,
};
use super::raw::{RawCollection, RawFamily};
use crate::reason::Reason;

/// Each rule a family can break, named for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    MetricName,
    /// The family takes a name the host serves itself.
    HostName,
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    LabelName,
    /// A label name is longer than `limits.max_label_name_length`.
    LabelNameLength,
    /// A label name starts with `__`.
    LabelNameReserved,
    /// `le` on a histogram, `quantile` on a summary, the family's own name
    /// on a stateset.
    LabelNameForKind,
    /// A label name is given twice.
    LabelNameRepeated,
    /// The unit is malformed or does not end the name.
    Unit,
    /// The flat label values do not fit the series and label names.
    LabelShape,
    /// A label value index points outside the collection's table.
    LabelIndex,
    /// A label value is longer than `limits.max_label_value_length`.
    LabelValueLength,
    /// A series' value is of another kind than its family.
    ValueKind,
    /// A timestamp's nanoseconds are out of range.
    Timestamp,
    /// A counter is negative or NaN.
    CounterValue,
    /// A histogram's buckets are not sorted, cumulative, ending in `+Inf`
    /// equal to the count.
    Buckets,
    /// A summary's quantiles are out of [0, 1], unsorted, or its sum NaN.
    Quantiles,
    /// A stateset is empty, repeats a state, or has a too long state name.
    States,
    /// An exemplar's labels are malformed or longer than 128 characters.
    Exemplar,
    /// Two series have the same label values.
    DuplicateSeries,
}

impl Rule {
    /// A short, stable name for the rule.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MetricName => "metric_name",
            Rule::HostName => "host_name",
            Rule::LabelName => "label_name",
            Rule::LabelNameLength => "label_name_length",
            Rule::LabelNameReserved => "label_name_reserved",
            Rule::LabelNameForKind => "label_name_for_kind",
            Rule::LabelNameRepeated => "label_name_repeated",
            Rule::Unit => "unit",
            Rule::LabelShape => "label_shape",
            Rule::LabelIndex => "label_index",
            Rule::LabelValueLength => "label_value_length",
            Rule::ValueKind => "value_kind",
            Rule::Timestamp => "timestamp",
            Rule::CounterValue => "counter_value",
            Rule::Buckets => "buckets",
            Rule::Quantiles => "quantiles",
            Rule::States => "states",
            Rule::Exemplar => "exemplar",
            Rule::DuplicateSeries => "duplicate_series",
        }
    }
}

/// Why a family was dropped: the family, the rule, and what broke it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("family {family}{at}: {why}", at = at(.labels))]
pub struct Invalid {
    /// Family name.
    pub family: String,
    /// The series at fault, as `{a="x"}`, when one is.
    pub labels: Option<String>,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong, in words.
    pub why: String,
}

fn at(labels: &Option<String>) -> String {
    labels
        .as_ref()
        .map(|l| format!(", series {l}"))
        .unwrap_or_default()
}

impl Invalid {
    fn new(family: &str, rule: Rule, why: impl Into<String>) -> Self {
        Invalid {
            family: family.to_owned(),
            labels: None,
            rule,
            why: why.into(),
        }
    }

    /// The `reason` the drop is counted under: a name the host owns is a
    /// clash, anything else invalid output.
    pub fn reason(&self) -> Reason {
        match self.rule {
            Rule::HostName => Reason::NameClash,
            _ => Reason::InvalidOutput,
        }
    }
}

/// A collect refused whole: it returned more than the plugin's caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// More series than `limits.max_series`.
    #[error("returned {count} series, over the limit of {limit}")]
    TooManySeries {
        /// Series returned.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// More families than `limits.max_families`.
    #[error("returned {count} families, over the limit of {limit}")]
    TooManyFamilies {
        /// Families returned.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

impl Refusal {
    /// The `reason` the refusal is counted under.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::TooManySeries { .. } => Reason::TooManySeries,
            Refusal::TooManyFamilies { .. } => Reason::TooManyFamilies,
        }
    }
}

/// Caps applied while validating.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest label value (and exemplar label value), in bytes.
    pub max_label_value_length: usize,
    /// Longest label name, in bytes.
    pub max_label_name_length: usize,
    /// Most series in one collect.
    pub max_series: usize,
    /// Most families in one collect.
    pub max_families: usize,
}

impl From<&crate::runtime::limits::Limits> for Limits {
    fn from(l: &crate::runtime::limits::Limits) -> Self {
        Limits {
            max_label_value_length: l.max_label_value_length,
            max_label_name_length: l.max_label_name_length,
            max_series: l.max_series,
            max_families: l.max_families,
        }
    }
}

/// What a collection is checked against.
pub struct Context<'a> {
    /// The plugin's caps.
    pub limits: Limits,
    /// Labels added in front of every family's own (an instance's
    /// `labels:`), sorted by name, already checked.
    pub const_labels: &'a [(String, LabelValue)],
    /// Whether the host serves a sample or metadata name itself.
    pub host_owns: &'a dyn Fn(&str) -> bool,
}

/// A collection after validation.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// The valid families, each with its series sorted.
    pub families: Vec<Family>,
    /// The families dropped, and why.
    pub dropped: Vec<Invalid>,
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

/// The rules every label name obeys, wherever it comes from (a plugin's
/// family, an exemplar, an instance's `labels:`).
pub fn check_label_name(name: &str, max_length: usize) -> Result<(), (Rule, &'static str)> {
    if !is_label_name(name) {
        Err((Rule::LabelName, "must match [a-zA-Z_][a-zA-Z0-9_]*"))
    } else if name.len() > max_length {
        Err((Rule::LabelNameLength, "longer than the label name limit"))
    } else if name.starts_with("__") {
        Err((
            Rule::LabelNameReserved,
            "names starting with __ are reserved",
        ))
    } else {
        Ok(())
    }
}

/// Validates one collect's output: the caps first (over them the collect
/// is refused whole), then each family on its own.
pub fn collection(raw: RawCollection, ctx: &Context<'_>) -> Result<Checked, Refusal> {
    let families = raw.families.len();
    if families > ctx.limits.max_families {
        return Err(Refusal::TooManyFamilies {
            count: families,
            limit: ctx.limits.max_families,
        });
    }
    let series = raw.series();
    if series > ctx.limits.max_series {
        return Err(Refusal::TooManySeries {
            count: series,
            limit: ctx.limits.max_series,
        });
    }
    let mut checked = Checked {
        families: Vec::with_capacity(families),
        dropped: Vec::new(),
    };
    for family in raw.families {
        match resolve(family, &raw.strings, ctx.const_labels).and_then(|mut f| {
            check_host_names(&f, ctx.host_owns)?;
            validate(&mut f, ctx.limits)?;
            Ok(f)
        }) {
            Ok(f) => checked.families.push(f),
            Err(e) => checked.dropped.push(e),
        }
    }
    Ok(checked)
}

/// Gives each series its label values from the table, the constant labels
/// first. A family whose indices do not fit is refused whole.
fn resolve(
    raw: RawFamily,
    strings: &[LabelValue],
    const_labels: &[(String, LabelValue)],
) -> Result<Family, Invalid> {
    let RawFamily {
        mut family,
        label_indices,
    } = raw;
    let n = family.label_names.len();
    if label_indices.len() != n * family.series.len() {
        return Err(Invalid::new(
            &family.name,
            Rule::LabelShape,
            format!(
                "{} label values for {} series of {} label names",
                label_indices.len(),
                family.series.len(),
                n
            ),
        ));
    }
    if let Some(bad) = label_indices.iter().find(|i| **i as usize >= strings.len()) {
        return Err(Invalid::new(
            &family.name,
            Rule::LabelIndex,
            format!(
                "label value index {bad} outside the collection's {} strings",
                strings.len()
            ),
        ));
    }
    if !const_labels.is_empty() {
        let mut names: Vec<String> = const_labels.iter().map(|(n, _)| n.clone()).collect();
        names.append(&mut family.label_names);
        family.label_names = names;
    }
    let mut indices = label_indices.iter();
    for series in Arc::make_mut(&mut family.series) {
        let mut values = Vec::with_capacity(const_labels.len() + n);
        values.extend(const_labels.iter().map(|(_, v)| v.clone()));
        values.extend(
            indices
                .by_ref()
                .take(n)
                .map(|i| strings[*i as usize].clone()),
        );
        series.label_values = values;
    }
    Ok(family)
}

fn check_host_names(family: &Family, host_owns: &dyn Fn(&str) -> bool) -> Result<(), Invalid> {
    match family.reserved_names().into_iter().find(|n| host_owns(n)) {
        Some(name) => Err(Invalid::new(
            &family.name,
            Rule::HostName,
            format!("the name {name} is served by the host itself"),
        )),
        None => Ok(()),
    }
}

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

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
