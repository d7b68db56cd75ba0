//! The rules the exporter holds a plugin's output to, in one place: the
//! host's validation applies them, and so does the SDK's `testing::check`,
//! so that a plugin's unit test fails on whatever the exporter would drop.
//! std only: the host compiles this same file.

// Name escaping, as Prometheus negotiates it (`escaping=`). A path, so
// that the host, which compiles this file by path, finds it too.
#[path = "escaping.rs"]
mod escaping;
pub use escaping::{Escaping, escape_name};

/// Each rule a family can break, named for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The metric name is empty.
    MetricName,
    /// The family takes a name the host serves itself.
    HostName,
    /// A label name is empty.
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
    /// A native histogram's schema is outside -4..=8, its zero threshold
    /// negative, its bucket indices unsorted or repeated, or its counts do
    /// not add up to its count.
    NativeHistogram,
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
            Rule::NativeHistogram => "native_histogram",
        }
    }

    /// How a plugin author makes a family pass this rule.
    pub fn fix(self) -> &'static str {
        match self {
            Rule::MetricName => "give the family a name (any UTF-8)",
            Rule::HostName => {
                "rename the family: wasm_exporter_*, process_* and promhttp_* belong to the host"
            }
            Rule::LabelName => "give every label a name (any UTF-8)",
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
            Rule::NativeHistogram => {
                "use a schema from -4 to 8, a zero threshold >= 0, buckets sorted by index each once, and a count equal to the zero count plus every bucket's count; give native exemplars a timestamp"
            }
        }
    }
}

/// Longest combined length of an exemplar's label names and values, in
/// characters (OpenMetrics).
pub const MAX_EXEMPLAR_RUNES: usize = 128;

/// Longest label value, in bytes, unless `limits.max_label_value_length`
/// says otherwise.
pub const DEFAULT_MAX_LABEL_VALUE_LENGTH: usize = 4096;

/// Longest label name, in bytes, unless `limits.max_label_name_length`
/// says otherwise.
pub const DEFAULT_MAX_LABEL_NAME_LENGTH: usize = 256;

/// Name prefixes of the host's own metrics; a plugin may not use them.
pub const HOST_PREFIXES: [&str; 3] = ["wasm_exporter_", "process_", "promhttp_"];

/// Whether the host serves the sample or metadata name `name` itself.
pub fn host_owns(name: &str) -> bool {
    HOST_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A family's label-value indices: one per label name for each series, each
/// inside the collection's table of `strings` values.
pub fn check_label_indices(
    indices: &[u32],
    label_names: usize,
    series: usize,
    strings: usize,
) -> Result<(), (Rule, String)> {
    if indices.len() != label_names * series {
        return Err((
            Rule::LabelShape,
            format!(
                "{} label values for {series} series of {label_names} label names",
                indices.len()
            ),
        ));
    }
    match indices.iter().find(|i| **i as usize >= strings) {
        Some(bad) => Err((
            Rule::LabelIndex,
            format!("label value index {bad} outside the collection's {strings} strings"),
        )),
        None => Ok(()),
    }
}

/// Whether `name`, as any scraper may receive it, is a name the host
/// serves: as given (`Some(AllowUtf8)`), or once escaped for a scraper that
/// cannot read UTF-8 names (`wasm_exporter.plugin_up` is
/// `wasm_exporter_plugin_up` under `underscores`). The scheme under which
/// it is the host's, if any.
pub fn host_owns_escaped(name: &str) -> Option<Escaping> {
    // A legacy name is itself under `underscores` and `values`, and under
    // `dots` each `_` is doubled, a mapping that keeps and never makes a
    // prefix among legacy names (the host's prefixes are all legacy): so it
    // is the host's under some scheme exactly when it is as given. Most
    // names are legacy; this spares building four escaped copies of each.
    if is_legacy_metric_name(name) {
        return host_owns(name).then_some(Escaping::AllowUtf8);
    }
    Escaping::ALL.into_iter().find(|scheme| {
        let escaped = escape_name(name, *scheme, true);
        HOST_PREFIXES
            .iter()
            .any(|p| escaped.starts_with(&*escape_name(p, *scheme, true)))
    })
}

/// A metric name as Prometheus 3 takes it: any UTF-8, not empty.
pub fn is_metric_name(name: &str) -> bool {
    !name.is_empty()
}

/// A label name as Prometheus 3 takes it: any UTF-8, not empty.
pub fn is_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`: a name every scraper reads unquoted and
/// unescaped.
pub fn is_legacy_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: a label name every scraper reads unquoted and
/// unescaped.
pub fn is_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The rules every label name obeys, wherever it comes from (a plugin's
/// family, an exemplar, an instance's `labels:`).
pub fn check_label_name(name: &str, max_length: usize) -> Result<(), (Rule, &'static str)> {
    if !is_label_name(name) {
        Err((Rule::LabelName, "must not be empty"))
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

/// What a family's kind reserves among label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserves {
    /// `le` (histograms and gauge histograms).
    Le,
    /// `quantile` (summaries).
    Quantile,
    /// The family's own name (statesets).
    OwnName,
    /// Nothing.
    Nothing,
}

/// A family's label names: each valid, none reserved for its kind, none
/// twice. `base` is the family's OpenMetrics name.
pub fn check_label_names(
    names: &[String],
    reserves: Reserves,
    base: &str,
    max_length: usize,
) -> Result<(), (Rule, String)> {
    let bad = |label: &str, rule, why: &str| (rule, format!("invalid label name {label:?}: {why}"));
    for (i, label) in names.iter().enumerate() {
        check_label_name(label, max_length).map_err(|(rule, why)| bad(label, rule, why))?;
        let reserved = match reserves {
            Reserves::Le => label == "le",
            Reserves::Quantile => label == "quantile",
            Reserves::OwnName => label == base,
            Reserves::Nothing => false,
        };
        if reserved {
            return Err(bad(
                label,
                Rule::LabelNameForKind,
                "reserved for this metric type",
            ));
        }
        if names[..i].contains(label) {
            return Err(bad(label, Rule::LabelNameRepeated, "given twice"));
        }
    }
    Ok(())
}

/// A unit must be `[a-zA-Z0-9_:]+` and end `base` (the OpenMetrics name:
/// without `_total` for a counter, `_info` for an info) as `_<unit>`.
pub fn check_unit(base: &str, unit: &str) -> Result<(), String> {
    let valid = unit
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
    let suffixed = base
        .strip_suffix(unit)
        .is_some_and(|rest| rest.ends_with('_'));
    if unit.is_empty() || (valid && suffixed) {
        Ok(())
    } else {
        Err(format!(
            "unit {unit:?} must be [a-zA-Z0-9_:]+ and end the name as _{unit}"
        ))
    }
}

/// A timestamp's nanoseconds part.
pub fn check_nanos(nanos: u32) -> Result<(), String> {
    if nanos >= 1_000_000_000 {
        Err(format!("timestamp nanoseconds {nanos} out of range"))
    } else {
        Ok(())
    }
}

/// A counter's total.
pub fn check_counter(total: f64) -> Result<(), String> {
    if total.is_nan() || total < 0.0 {
        Err(format!("counter value {total} must be a number >= 0"))
    } else {
        Ok(())
    }
}

/// A histogram's `(upper bound, cumulative count)` buckets and its count.
pub fn check_buckets<I>(buckets: I, count: u64) -> Result<(), String>
where
    I: Iterator<Item = (f64, u64)> + Clone,
{
    let Some(last) = buckets.clone().last() else {
        return Err("histogram has no buckets; the last must be +Inf".into());
    };
    if last.0 != f64::INFINITY {
        return Err("histogram's last bucket must be +Inf".into());
    }
    if last.1 != count {
        return Err(format!(
            "+Inf bucket count {} differs from count {count}",
            last.1
        ));
    }
    let mut previous: Option<(f64, u64)> = None;
    for (bound, n) in buckets.clone() {
        if let Some((p_bound, p_n)) = previous {
            if p_bound.partial_cmp(&bound) != Some(std::cmp::Ordering::Less) {
                return Err("bucket bounds must be sorted, unique and not NaN".into());
            }
            if p_n > n {
                return Err(format!(
                    "bucket counts must be cumulative: le={p_bound} has {p_n} > le={bound} has {n}"
                ));
            }
        }
        previous = Some((bound, n));
    }
    if buckets.into_iter().any(|(bound, _)| bound.is_nan()) {
        return Err("bucket bound is NaN".into());
    }
    Ok(())
}

/// A summary's quantiles (in order), sum and count.
pub fn check_quantiles(
    quantiles: impl Iterator<Item = f64>,
    sum: f64,
    count: u64,
) -> Result<(), String> {
    let mut previous: Option<f64> = None;
    for q in quantiles {
        if !(0.0..=1.0).contains(&q) {
            return Err(format!("quantile {q} outside [0, 1]"));
        }
        if previous.is_some_and(|p| p >= q) {
            return Err("quantiles must be sorted and unique".into());
        }
        previous = Some(q);
    }
    if sum.is_nan() && count > 0 {
        return Err("summary sum is NaN".into());
    }
    Ok(())
}

/// A stateset's state names.
pub fn check_states<'a, I>(names: I, max_value_length: usize, family: &str) -> Result<(), String>
where
    I: Iterator<Item = &'a str> + Clone,
{
    let mut seen = 0usize;
    for (i, name) in names.clone().enumerate() {
        seen += 1;
        if name.len() > max_value_length {
            return Err("state name exceeds the label value limit".into());
        }
        if names.clone().take(i).any(|n| n == name) {
            return Err(format!("state {name:?} given twice"));
        }
    }
    if seen == 0 {
        return Err(format!("stateset {family} has no states"));
    }
    Ok(())
}

/// An exemplar's `(name, value)` labels.
pub fn check_exemplar<'a, I>(
    labels: I,
    max_name_length: usize,
    max_value_length: usize,
) -> Result<(), String>
where
    I: Iterator<Item = (&'a str, &'a str)> + Clone,
{
    let mut runes = 0;
    for (i, (name, value)) in labels.clone().enumerate() {
        if check_label_name(name, max_name_length).is_err() {
            return Err(format!("invalid exemplar label name {name:?}"));
        }
        if labels.clone().take(i).any(|(n, _)| n == name) {
            return Err(format!("exemplar label {name:?} given twice"));
        }
        if value.len() > max_value_length {
            return Err("exemplar label value exceeds the label value limit".into());
        }
        runes += name.chars().count() + value.chars().count();
    }
    if runes > MAX_EXEMPLAR_RUNES {
        return Err(format!(
            "exemplar labels have {runes} characters, more than {MAX_EXEMPLAR_RUNES}"
        ));
    }
    Ok(())
}

/// Schemas a native histogram may use.
pub const NATIVE_SCHEMAS: std::ops::RangeInclusive<i8> = -4..=8;

/// A native histogram: its schema, zero bucket, `(index, count)` buckets on
/// each side, count and sum, and how many of its exemplars lack a timestamp
/// (Prometheus drops those). Each exemplar's labels are checked as any
/// exemplar's.
pub fn check_native<I>(
    schema: i8,
    zero_threshold: f64,
    zero_count: u64,
    sides: [I; 2],
    count: u64,
    sum: f64,
    untimed_exemplars: usize,
) -> Result<(), String>
where
    I: Iterator<Item = (i32, u64)>,
{
    if !NATIVE_SCHEMAS.contains(&schema) {
        return Err(format!("native histogram schema {schema} outside -4..=8"));
    }
    if zero_threshold.is_nan() || zero_threshold < 0.0 {
        return Err(format!(
            "native histogram zero threshold {zero_threshold} must be a number >= 0"
        ));
    }
    // Protobuf carries bucket counts as differences (sint64) and the gaps
    // between indices as span offsets (sint32): both must fit.
    let fits = |n: u64, what: &str| {
        if i64::try_from(n).is_ok() {
            Ok(())
        } else {
            Err(format!("native histogram {what} {n} is over {}", i64::MAX))
        }
    };
    fits(zero_count, "zero count")?;
    let mut total = u128::from(zero_count);
    for (side, buckets) in ["negative", "positive"].into_iter().zip(sides) {
        let mut previous: Option<i32> = None;
        for (index, n) in buckets {
            if let Some(p) = previous {
                if p >= index {
                    return Err(format!(
                        "native histogram {side} bucket indices must be sorted and unique ({index} after {p})"
                    ));
                }
                if i32::try_from(i64::from(index) - i64::from(p) - 1).is_err() {
                    return Err(format!(
                        "native histogram {side} bucket indices {p} and {index} are too far apart to encode"
                    ));
                }
            }
            previous = Some(index);
            fits(n, &format!("{side} bucket {index}'s count"))?;
            total += u128::from(n);
        }
    }
    let count = u128::from(count);
    if total > count || (total < count && !sum.is_nan()) {
        return Err(format!(
            "native histogram count {count} differs from the zero count and buckets' {total}"
        ));
    }
    if untimed_exemplars > 0 {
        return Err(format!(
            "{untimed_exemplars} native histogram exemplars without a timestamp"
        ));
    }
    Ok(())
}
