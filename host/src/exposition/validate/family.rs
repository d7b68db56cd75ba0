//! The rules one family obeys, from client_golang's `Gatherers` and the
//! exposition formats: names, unit, label names, each series' labels and
//! value by kind, exemplars, and no duplicate series.

use std::sync::Arc;

use super::rules;
use super::{Caps, Invalid, Rule, is_metric_name};
use crate::exposition::model::{
    Exemplar, Family, Histogram, Kind, LabelValue, Native, NativeBucket, Series, Timestamp, Value,
    cmp_label_values,
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
pub fn describe_labels(names: &[String], values: &[LabelValue]) -> String {
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
pub fn validate(family: &mut Family, limits: Caps) -> Result<(), Invalid> {
    validate_ordered(family, limits, None, None).map(|_| ())
}

/// The ranks of a collection's label-value table, for ordering series by
/// their indices: comparing two ranks costs what comparing two numbers
/// does, where comparing two values compares their text. Worked out on
/// first use.
pub(super) struct Ranking<'a> {
    strings: &'a [LabelValue],
    ranks: Option<Vec<u32>>,
}

impl<'a> Ranking<'a> {
    /// The ranking of `strings`, not worked out yet.
    pub(super) fn new(strings: &'a [LabelValue]) -> Self {
        Ranking {
            strings,
            ranks: None,
        }
    }

    /// Each value's place among the table's values in order; equal values
    /// (a table may repeat one) have equal ranks.
    fn ranks(&mut self) -> &[u32] {
        let strings = self.strings;
        self.ranks.get_or_insert_with(|| {
            let mut by_value: Vec<u32> = (0..strings.len() as u32).collect();
            by_value.sort_unstable_by(|&a, &b| strings[a as usize].cmp(&strings[b as usize]));
            let mut ranks = vec![0; strings.len()];
            let mut rank = 0;
            for (k, w) in by_value.iter().enumerate() {
                if k > 0 && strings[by_value[k - 1] as usize] != strings[*w as usize] {
                    rank += 1;
                }
                ranks[*w as usize] = rank;
            }
            ranks
        })
    }
}

/// A family's label indices (as many per series as it has labels of its
/// own, in series order) and the ranking of the table they point into.
pub(super) struct Keys<'k, 'a> {
    /// The indices, flat.
    pub indices: &'k [u32],
    /// The collection's ranking.
    pub ranking: &'k mut Ranking<'a>,
}

/// [`validate`], with `known`: the order that sorted a family whose series
/// had the same label values, series for series, and were without
/// duplicates; applied as it is, without comparing. Returns the order the
/// series were put in when it had to work one out.
pub(super) fn validate_ordered(
    family: &mut Family,
    limits: Caps,
    known: Option<&[u32]>,
    keys: Option<Keys<'_, '_>>,
) -> Result<Option<Vec<u32>>, Invalid> {
    if !is_metric_name(&family.name) {
        return Err(Invalid::new(
            &family.name,
            Rule::MetricName,
            "invalid metric name \"\": must not be empty",
        ));
    }
    check_unit(family)?;
    check_label_names(family, limits)?;
    for series in family.series.iter() {
        check_series(family, series, limits)?;
    }
    sort_and_dedupe(family, known, keys)
}

fn check_unit(family: &Family) -> Result<(), Invalid> {
    rules::check_unit(family.openmetrics_name(), &family.unit)
        .map_err(|why| Invalid::new(&family.name, Rule::Unit, why))
}

fn check_label_names(family: &Family, limits: Caps) -> Result<(), Invalid> {
    let reserves = match family.kind {
        Kind::Histogram | Kind::GaugeHistogram => rules::Reserves::Le,
        Kind::Summary => rules::Reserves::Quantile,
        Kind::Stateset => rules::Reserves::OwnName,
        _ => rules::Reserves::Nothing,
    };
    rules::check_label_names(
        &family.label_names,
        reserves,
        family.openmetrics_name(),
        limits.max_label_name_length,
    )
    .map_err(|(rule, why)| Invalid::new(&family.name, rule, why))
}

type Problem = (Rule, String);

fn check_timestamp(t: Option<Timestamp>) -> Result<(), Problem> {
    t.map_or(Ok(()), |t| rules::check_nanos(t.nanos))
        .map_err(|why| (Rule::Timestamp, why))
}

fn check_series(family: &Family, series: &Series, limits: Caps) -> Result<(), Invalid> {
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
    check_timestamp(series.timestamp())
        .and_then(|()| check_timestamp(series.created()))
        .and_then(|()| check_value(family, &series.value, limits))
        .map_err(fail)
}

fn check_value(family: &Family, value: &Value, limits: Caps) -> Result<(), Problem> {
    match value {
        Value::Counter { total, exemplar } => {
            rules::check_counter(*total).map_err(|why| (Rule::CounterValue, why))?;
            check_exemplar(exemplar.as_deref(), limits)
        }
        Value::Gauge(_) | Value::Unknown(_) | Value::Info => Ok(()),
        Value::Histogram(h) | Value::GaugeHistogram(h) => check_histogram(h, limits),
        Value::Summary(s) => {
            rules::check_quantiles(s.quantiles.iter().map(|q| q.quantile), s.sum, s.count)
                .map_err(|why| (Rule::Quantiles, why))
        }
        Value::Stateset(states) => rules::check_states(
            states.iter().map(|s| s.name.as_str()),
            limits.max_label_value_length,
            &family.name,
        )
        .map_err(|why| (Rule::States, why)),
    }
}

fn check_histogram(h: &Histogram, limits: Caps) -> Result<(), Problem> {
    if let Some(native) = &h.native {
        check_native(native, h, limits)?;
        if h.buckets.is_empty() {
            return Ok(());
        }
    }
    rules::check_buckets(
        h.buckets
            .iter()
            .map(|b| (b.upper_bound, b.cumulative_count)),
        h.count,
    )
    .map_err(|why| (Rule::Buckets, why))?;
    for b in &h.buckets {
        check_exemplar(b.exemplar.as_ref(), limits)?;
    }
    Ok(())
}

/// A native histogram: the shared rules, and a timestamp on each exemplar
/// (Prometheus drops native exemplars without one). An empty one is valid:
/// the protobuf encoder marks it native with a no-op span.
fn check_native(native: &Native, h: &Histogram, limits: Caps) -> Result<(), Problem> {
    fn pair(b: &NativeBucket) -> (i32, u64) {
        (b.index, b.count)
    }
    rules::check_native(
        native.schema,
        native.zero_threshold,
        native.zero_count,
        [
            native.negative.iter().map(pair),
            native.positive.iter().map(pair),
        ],
        h.count,
        h.sum,
        native
            .exemplars
            .iter()
            .filter(|e| e.timestamp.is_none())
            .count(),
    )
    .map_err(|why| (Rule::NativeHistogram, why))?;
    native
        .exemplars
        .iter()
        .try_for_each(|ex| check_exemplar(Some(ex), limits))
}

fn check_exemplar(exemplar: Option<&Exemplar>, limits: Caps) -> Result<(), Problem> {
    let Some(ex) = exemplar else { return Ok(()) };
    rules::check_exemplar(
        ex.labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str())),
        limits.max_label_name_length,
        limits.max_label_value_length,
    )
    .map_err(|why| (Rule::Exemplar, why))?;
    check_timestamp(ex.timestamp)
}

/// Puts the series in label-value order, refusing a duplicate. Sorted
/// series (as the SDKs may give them) cost one pass; with `known` (see
/// [`validate_ordered`]) one pass of moves. Otherwise the order is worked
/// out on indices, so that each series is moved once, and returned.
fn sort_and_dedupe(
    family: &mut Family,
    known: Option<&[u32]>,
    keys: Option<Keys<'_, '_>>,
) -> Result<Option<Vec<u32>>, Invalid> {
    let series = &family.series;
    if let Some(order) = known.filter(|o| o.len() == series.len()) {
        permute(Arc::make_mut(&mut family.series).as_mut_slice(), order);
        return Ok(None);
    }
    let sorted = series
        .windows(2)
        .all(|w| cmp_label_values(&w[0].label_values, &w[1].label_values).is_lt());
    if sorted {
        return Ok(None);
    }
    let labels = |i: u32| &series[i as usize].label_values;
    // By the ranks of their indices when the table is not much larger
    // than the family (ranking it costs a sort of the table): the same
    // order, as the constant labels in front are the same in every series.
    let width = keys
        .as_ref()
        .map_or(0, |k| k.indices.len() / series.len().max(1));
    let ranked = keys.filter(|k| {
        width > 0
            && k.indices.len() == series.len() * width
            && k.ranking.strings.len() <= series.len().saturating_mul(4)
    });
    let (order, duplicate) = match ranked {
        Some(keys) => by_ranks(keys.indices, keys.ranking.ranks(), width),
        None => {
            let mut order: Vec<u32> = (0..series.len() as u32).collect();
            order.sort_unstable_by(|&a, &b| cmp_label_values(labels(a), labels(b)));
            let duplicate = order
                .windows(2)
                .find(|w| cmp_label_values(labels(w[0]), labels(w[1])).is_eq())
                .map(|w| w[0]);
            (order, duplicate)
        }
    };
    if let Some(at) = duplicate {
        return Err(Invalid {
            family: family.name.clone(),
            labels: Some(describe_labels(&family.label_names, labels(at))),
            rule: Rule::DuplicateSeries,
            why: "duplicate series".into(),
        });
    }
    permute(Arc::make_mut(&mut family.series).as_mut_slice(), &order);
    Ok(Some(order))
}

/// The order of the series whose label values are at `indices` (`width`
/// per series), by their `ranks`, and a series that has a twin (equal
/// ranks are equal values). Each series' ranks are packed into one number
/// when they fit, so that the sort compares numbers, not lists.
fn by_ranks(indices: &[u32], ranks: &[u32], width: usize) -> (Vec<u32>, Option<u32>) {
    let series = indices.len() / width.max(1);
    let rank = |v: &u32| ranks.get(*v as usize).copied().unwrap_or(u32::MAX);
    // Every rank is below the table's length.
    let bits = (u32::BITS - (ranks.len() as u32).leading_zeros()) as usize;
    if bits * width <= 64 {
        let mut keyed: Vec<(u64, u32)> = indices
            .chunks_exact(width)
            .zip(0..series as u32)
            .map(|(values, i)| {
                let key = values
                    .iter()
                    .fold(0u64, |key, v| (key << bits) | u64::from(rank(v)));
                (key, i)
            })
            .collect();
        keyed.sort_unstable();
        let duplicate = keyed.windows(2).find(|w| w[0].0 == w[1].0).map(|w| w[0].1);
        return (keyed.into_iter().map(|(_, i)| i).collect(), duplicate);
    }
    let key = |i: u32| {
        let at = i as usize * width;
        indices[at..at + width].iter().map(rank)
    };
    let mut order: Vec<u32> = (0..series as u32).collect();
    order.sort_unstable_by(|&a, &b| key(a).cmp(key(b)));
    let duplicate = order
        .windows(2)
        .find(|w| key(w[0]).eq(key(w[1])))
        .map(|w| w[0]);
    (order, duplicate)
}

/// Reorders `items` so that `items[k]` becomes what was at `order[k]`,
/// moving each item once along the cycles of the permutation. `order` must
/// be a permutation of the positions; an entry out of range is skipped.
fn permute<T>(items: &mut [T], order: &[u32]) {
    let mut placed = vec![false; items.len()];
    for start in 0..items.len() {
        let mut at = start;
        while !placed[at] {
            placed[at] = true;
            let from = order.get(at).map_or(start, |&f| f as usize);
            if from == start || from >= items.len() {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod permute_tests {
    use super::permute;

    #[test]
    fn every_item_lands_where_the_order_says() {
        // Orders of every shape: identity, reversed, one long cycle, many
        // short ones, and pseudo-random shuffles.
        let mut orders: Vec<Vec<u32>> = vec![
            vec![],
            vec![0],
            (0..7).collect(),
            (0..7).rev().collect(),
            (1..9).chain([0]).collect(),
            vec![1, 0, 3, 2, 5, 4],
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for n in [2u32, 3, 10, 100, 1000] {
            let mut order: Vec<u32> = (0..n).collect();
            for i in (1..order.len()).rev() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                order.swap(i, (seed % (i as u64 + 1)) as usize);
            }
            orders.push(order);
        }
        for order in orders {
            let mut items: Vec<String> = (0..order.len()).map(|i| format!("item{i}")).collect();
            let want: Vec<String> = order.iter().map(|&i| format!("item{i}")).collect();
            permute(&mut items, &order);
            assert_eq!(items, want, "{order:?}");
        }
    }
}

#[cfg(test)]
mod by_ranks_tests {
    use super::by_ranks;

    /// How many distinct values a table of `table` values holds: an eighth
    /// of them repeat, so that the largest rank still needs every bit of
    /// the width the table's length gives it.
    fn distinct(table: usize) -> usize {
        table - table / 8
    }

    /// An index of `v`'s value other than `v` where the table has one.
    fn twin(v: usize, table: usize) -> usize {
        let d = distinct(table);
        if v + d < table {
            v + d
        } else if v >= d {
            v - d
        } else {
            v
        }
    }

    /// Rows of `width` indices into a table of `table` values whose ranks
    /// are `i % distinct` (so that values repeat), pseudo-random, and the
    /// order of their rank lists worked out the slow way.
    fn case(width: usize, table: usize, rows: usize) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let d = distinct(table) as u32;
        let ranks: Vec<u32> = (0..table as u32).map(|i| i % d).collect();
        let mut state = 0x9e37_79b9_u64;
        let mut indices = Vec::with_capacity(rows * width);
        for _ in 0..rows * width {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            indices.push(((state >> 33) % table as u64) as u32);
        }
        let key = |i: u32| -> Vec<u32> {
            let at = i as usize * width;
            indices[at..at + width]
                .iter()
                .map(|&v| ranks[v as usize])
                .collect()
        };
        let mut want: Vec<u32> = (0..rows as u32).collect();
        want.sort_by_key(|&i| key(i));
        want.dedup_by_key(|i| key(*i));
        assert_eq!(want.len(), rows, "the case must have no twins");
        (indices, ranks, want)
    }

    #[test]
    fn packed_and_unpacked_keys_give_the_order_of_the_ranks() {
        // 2 x 8 and 3 x 7 bits pack into a number; 5 x 14 bits do not.
        for (width, table, rows) in [(2, 200, 40), (3, 100, 500), (5, 10_000, 500)] {
            let (indices, ranks, want) = case(width, table, rows);
            assert_eq!(
                by_ranks(&indices, &ranks, width),
                (want, None),
                "{width}x{table}"
            );
        }
    }

    #[test]
    fn a_series_whose_values_rank_as_another_s_is_a_twin_packed_or_not() {
        for (width, table, rows) in [(3, 100, 500), (5, 10_000, 500)] {
            let (mut indices, ranks, _) = case(width, table, rows);
            // Row 7 takes row 3's values, at other indices of equal rank
            // where the table has them.
            for k in 0..width {
                let v = indices[3 * width + k] as usize;
                indices[7 * width + k] = twin(v, table) as u32;
            }
            let (_, twin) = by_ranks(&indices, &ranks, width);
            assert!(matches!(twin, Some(3 | 7)), "{width}x{table}: {twin:?}");
        }
    }
}
