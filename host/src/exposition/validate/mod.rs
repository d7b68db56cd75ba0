//! The one validation step: a plugin's raw output in, valid families out.
//! Caps, shape, the host's own names, and the rules of client_golang's
//! `Gatherers` and of the exposition formats all live here; the host trusts
//! nothing a plugin returns.
//!
//! A collect over a cap is refused whole ([`Refusal`]); a family that breaks
//! a rule is dropped whole ([`Invalid`], naming the [`Rule`]) and the rest
//! is kept.

mod family;

use std::sync::Arc;

use super::model::{Family, LabelValue};
use super::raw::{RawCollection, RawFamily};
use crate::reason::Reason;
pub use family::validate;

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

    /// How a plugin author makes a family pass this rule.
    pub fn fix(self) -> &'static str {
        match self {
            Rule::MetricName => {
                "use a name of letters, digits, '_' and ':' that does not start with a digit"
            }
            Rule::HostName => {
                "rename the family: wasm_exporter_*, process_* and promhttp_* belong to the host"
            }
            Rule::LabelName => {
                "use label names of letters, digits and '_' that do not start with a digit"
            }
            Rule::LabelNameLength => {
                "shorten the label name, or raise limits.max_label_name_length in NAME.yml"
            }
            Rule::LabelNameReserved => "label names starting with '__' are reserved; rename it",
            Rule::LabelNameForKind => {
                "drop the label: le belongs to histogram buckets, quantile to summaries, and a stateset's own name to its states"
            }
            Rule::LabelNameRepeated => "give each label name once",
            Rule::Unit => {
                "make the unit letters, digits and '_' and end the family name with _<unit>"
            }
            Rule::LabelShape => {
                "give every series one value per label name, in the order of the family's label names"
            }
            Rule::LabelIndex => {
                "intern label values in this collect's string table (the SDK's builders do)"
            }
            Rule::LabelValueLength => {
                "shorten the label value, or raise limits.max_label_value_length in NAME.yml"
            }
            Rule::ValueKind => "give every series a value of its family's kind",
            Rule::Timestamp => "keep a timestamp's nanoseconds below 1000000000",
            Rule::CounterValue => "report a counter's total as a number at or above zero",
            Rule::Buckets => {
                "sort buckets by bound, make each count at least the previous one, and end with a +Inf bucket equal to the count"
            }
            Rule::Quantiles => {
                "use quantiles between 0 and 1 in increasing order, and a sum that is a number"
            }
            Rule::States => "give a stateset at least one state, each name once",
            Rule::Exemplar => {
                "keep an exemplar's labels valid and at most 128 characters, names and values together"
            }
            Rule::DuplicateSeries => "give each series of a family different label values",
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

/// The caps on one collect: over them it is refused whole. The runtime
/// asks this as soon as a result is lifted, so that a refused one is never
/// converted; [`collection`] asks it again, so that no path skips it.
pub fn caps(families: usize, series: usize, limits: Limits) -> Result<(), Refusal> {
    if families > limits.max_families {
        return Err(Refusal::TooManyFamilies {
            count: families,
            limit: limits.max_families,
        });
    }
    if series > limits.max_series {
        return Err(Refusal::TooManySeries {
            count: series,
            limit: limits.max_series,
        });
    }
    Ok(())
}

/// Validates one collect's output: the caps first (over them the collect
/// is refused whole), then each family on its own.
pub fn collection(raw: RawCollection, ctx: &Context<'_>) -> Result<Checked, Refusal> {
    let families = raw.families.len();
    caps(families, raw.series(), ctx.limits)?;
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

#[cfg(test)]
mod tests;
