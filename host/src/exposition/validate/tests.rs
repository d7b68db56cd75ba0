//! The rule table of the family rules: each case names the rule it must
//! break, not just that something failed. The collection-level step
//! (caps, indices, instance labels, host names) is `collection_tests.rs`.

use super::*;
use crate::exposition::model::{
    Bucket, Exemplar, Histogram, Kind, Label, Native, NativeBucket, Quantile, State, Summary,
    Timestamp, Value,
};

pub(super) const LIMITS: Caps = Caps {
    max_label_value_length: 64,
    max_label_name_length: 32,
    max_series: 10,
    max_families: 3,
};

pub(super) fn gauge(name: &str, labels: &[&str]) -> Family {
    Family::new(Kind::Gauge, name, "help").with_labels(labels)
}

fn vals(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The rule `f` breaks, or `None` when it is valid.
fn broken(mut f: Family) -> Option<Rule> {
    validate(&mut f, LIMITS).err().map(|e| e.rule)
}

fn classic(buckets: &[(f64, u64)]) -> Vec<Bucket> {
    buckets
        .iter()
        .map(|&(upper_bound, cumulative_count)| Bucket {
            upper_bound,
            cumulative_count,
            exemplar: None,
        })
        .collect()
}

fn hist(buckets: &[(f64, u64)], count: u64) -> Value {
    Value::Histogram(Box::new(Histogram {
        buckets: classic(buckets),
        sum: 1.0,
        count,
        native: None,
    }))
}

#[test]
fn names_are_any_utf8_and_legacy_names_are_told_apart() {
    for good in [
        "a",
        "_a",
        "a:b_c9",
        ":x",
        "9a",
        "a-b",
        "ä",
        "a b",
        "http.server.duration",
    ] {
        assert!(is_metric_name(good), "{good}");
        assert!(is_label_name(good), "{good}");
    }
    assert!(!is_metric_name(""));
    assert!(!is_label_name(""));
    for legacy in ["a", "_a", "a:b_c9", ":x"] {
        assert!(rules::is_legacy_metric_name(legacy), "{legacy}");
    }
    for other in ["9a", "a-b", "ä", "a b", "a.b"] {
        assert!(!rules::is_legacy_metric_name(other), "{other}");
    }
    assert!(rules::is_legacy_label_name("le_2"));
    assert!(!rules::is_legacy_label_name("a:b"));
    assert!(!rules::is_legacy_label_name("1a"));
}

#[test]
fn bad_names_and_reserved_labels_each_break_their_rule() {
    let cases = [
        (gauge("", &[]), Rule::MetricName),
        (gauge("ok", &[""]), Rule::LabelName),
        (gauge("ok", &["__secret"]), Rule::LabelNameReserved),
        (gauge("ok", &["a", "a"]), Rule::LabelNameRepeated),
        (gauge("ok", &[&"n".repeat(33)]), Rule::LabelNameLength),
        (
            Family::new(Kind::Histogram, "h", "").with_labels(&["le"]),
            Rule::LabelNameForKind,
        ),
        (
            Family::new(Kind::Summary, "s", "").with_labels(&["quantile"]),
            Rule::LabelNameForKind,
        ),
        (
            Family::new(Kind::Stateset, "mode", "").with_labels(&["mode"]),
            Rule::LabelNameForKind,
        ),
    ];
    for (family, rule) in cases {
        let name = format!("{} {:?}", family.name, family.label_names);
        assert_eq!(broken(family), Some(rule), "{name}");
    }
    // `le` is an ordinary label on a gauge.
    assert_eq!(broken(gauge("g", &["le"])), None);
}

#[test]
fn units_must_suffix_the_name() {
    assert_eq!(
        broken(gauge("latency_seconds", &[]).with_unit("seconds")),
        None
    );
    assert_eq!(
        broken(Family::new(Kind::Counter, "sent_bytes_total", "").with_unit("bytes")),
        None
    );
    assert_eq!(
        broken(gauge("latency", &[]).with_unit("seconds")),
        Some(Rule::Unit)
    );
    assert_eq!(
        broken(gauge("xseconds", &[]).with_unit("seconds")),
        Some(Rule::Unit)
    );
}

#[test]
fn label_values_must_match_names_limits_and_kind() {
    let mut f = gauge("g", &["a", "b"]);
    f.push(vals(&["x"]), Value::Gauge(1.0));
    assert_eq!(broken(f), Some(Rule::LabelShape));
    let mut f = gauge("g", &["a"]);
    f.push(vec!["x".repeat(65)], Value::Gauge(1.0));
    assert_eq!(broken(f), Some(Rule::LabelValueLength));
    let mut f = gauge("g", &["a"]);
    f.push(vals(&["x"]), Value::Unknown(1.0));
    assert_eq!(broken(f), Some(Rule::ValueKind));
}

#[test]
fn duplicates_are_found_and_series_sorted() {
    let mut f = gauge("g", &["a"]);
    for v in ["c", "a", "b"] {
        f.push(vals(&[v]), Value::Gauge(1.0));
    }
    validate(&mut f, LIMITS).unwrap();
    let order: Vec<&str> = f.series.iter().map(|s| &*s.label_values[0]).collect();
    assert_eq!(order, ["a", "b", "c"]);
    f.push(vals(&["b"]), Value::Gauge(2.0));
    let e = validate(&mut f, LIMITS).unwrap_err();
    assert_eq!(e.rule, Rule::DuplicateSeries);
    assert_eq!(
        e.to_string(),
        "family g, series {a=\"b\"}: duplicate series"
    );
}

#[test]
fn counters_must_be_non_negative_numbers() {
    let counter = |total| {
        let mut f = Family::new(Kind::Counter, "c_total", "");
        f.push(
            vec![],
            Value::Counter {
                total,
                exemplar: None,
            },
        );
        f
    };
    for bad in [f64::NAN, -1.0] {
        assert_eq!(broken(counter(bad)), Some(Rule::CounterValue), "{bad}");
    }
    assert_eq!(broken(counter(f64::INFINITY)), None);
}

#[test]
fn histograms_need_cumulative_sorted_buckets_ending_in_inf() {
    type Case = (&'static [(f64, u64)], u64, Option<&'static str>);
    let cases: &[Case] = &[
        (&[(1.0, 1), (f64::INFINITY, 2)], 2, None),
        (&[(1.0, 1)], 1, Some("last bucket must be +Inf")),
        (
            &[(1.0, 3), (f64::INFINITY, 2)],
            2,
            Some("must be cumulative"),
        ),
        (
            &[(2.0, 1), (1.0, 1), (f64::INFINITY, 2)],
            2,
            Some("sorted, unique"),
        ),
        (
            &[(1.0, 1), (1.0, 1), (f64::INFINITY, 2)],
            2,
            Some("sorted, unique"),
        ),
        (
            &[(1.0, 1), (f64::INFINITY, 2)],
            3,
            Some("differs from count"),
        ),
        (
            &[(f64::NAN, 1), (f64::INFINITY, 2)],
            2,
            Some("sorted, unique and not NaN"),
        ),
        (&[], 0, Some("no buckets")),
    ];
    for (buckets, count, want) in cases {
        let mut f = Family::new(Kind::Histogram, "h", "");
        f.push(vec![], hist(buckets, *count));
        match (validate(&mut f, LIMITS), want) {
            (Ok(()), None) => {}
            (Err(e), Some(want)) => {
                assert_eq!(e.rule, Rule::Buckets, "{buckets:?}");
                assert!(e.why.contains(want), "{buckets:?}: {e}");
            }
            (got, want) => panic!("{buckets:?} count {count}: {got:?}, wanted {want:?}"),
        }
    }
}

/// A native histogram: zero bucket 1, buckets `pos` (index, count), count
/// and sum given, classic buckets `classic`.
fn native(pos: &[(i32, u64)], count: u64, sum: f64, classic: &[(f64, u64)]) -> Histogram {
    Histogram {
        buckets: self::classic(classic),
        sum,
        count,
        native: Some(Box::new(Native {
            schema: 3,
            zero_threshold: 1e-9,
            zero_count: 1,
            negative: Vec::new(),
            positive: pos
                .iter()
                .map(|&(index, count)| NativeBucket { index, count })
                .collect(),
            exemplars: Vec::new(),
        })),
    }
}

fn native_family(h: Histogram) -> Family {
    let mut f = Family::new(Kind::Histogram, "n", "");
    f.push(vec![], Value::Histogram(Box::new(h)));
    f
}

#[test]
fn native_histograms_need_a_schema_sorted_buckets_and_counts_that_add_up() {
    let ok = native(&[(1, 2), (5, 3)], 6, 7.5, &[]);
    assert_eq!(broken(native_family(ok.clone())), None);
    // Empty: valid (the encoder marks it native with a no-op span).
    assert_eq!(broken(native_family(native(&[], 1, 0.0, &[]))), None);
    // Classic buckets beside follow the classic rules.
    let both = native(&[(1, 2), (5, 3)], 6, 7.5, &[(1.0, 3), (f64::INFINITY, 6)]);
    assert_eq!(broken(native_family(both)), None);
    let bad_classic = native(&[(1, 2), (5, 3)], 6, 7.5, &[(1.0, 3), (f64::INFINITY, 5)]);
    assert_eq!(broken(native_family(bad_classic)), Some(Rule::Buckets));

    let mut schema = ok.clone();
    if let Some(n) = &mut schema.native {
        n.schema = 9;
    }
    assert_eq!(broken(native_family(schema)), Some(Rule::NativeHistogram));
    let mut threshold = ok.clone();
    if let Some(n) = &mut threshold.native {
        n.zero_threshold = -1.0;
    }
    assert_eq!(
        broken(native_family(threshold)),
        Some(Rule::NativeHistogram)
    );
    let unsorted = native(&[(5, 3), (1, 2)], 6, 7.5, &[]);
    assert_eq!(broken(native_family(unsorted)), Some(Rule::NativeHistogram));
    let repeated = native(&[(1, 2), (1, 3)], 6, 7.5, &[]);
    assert_eq!(broken(native_family(repeated)), Some(Rule::NativeHistogram));
    let short = native(&[(1, 2), (5, 3)], 7, 7.5, &[]);
    assert_eq!(broken(native_family(short)), Some(Rule::NativeHistogram));
    // With a NaN sum the count may exceed the buckets (client_golang's rule).
    let nan = native(&[(1, 2), (5, 3)], 7, f64::NAN, &[]);
    assert_eq!(broken(native_family(nan)), None);
    let over = native(&[(1, 2), (5, 3)], 5, f64::NAN, &[]);
    assert_eq!(broken(native_family(over)), Some(Rule::NativeHistogram));
    // What protobuf cannot carry: a count over i64::MAX (sent as a
    // difference), indices too far apart for a span offset.
    let huge = native(&[(1, u64::MAX - 1)], u64::MAX, 7.5, &[]);
    assert_eq!(broken(native_family(huge)), Some(Rule::NativeHistogram));
    let far = native(&[(i32::MIN, 1), (i32::MAX, 1)], 3, 7.5, &[]);
    assert_eq!(broken(native_family(far)), Some(Rule::NativeHistogram));
    let extremes = native(&[(i32::MIN, 1), (0, 1)], 3, 7.5, &[]);
    assert_eq!(broken(native_family(extremes)), None);

    // Native exemplars need a timestamp, and follow the exemplar rules.
    let exemplar = |timestamp| Exemplar {
        labels: vec![Label {
            name: "trace_id".into(),
            value: "x".into(),
        }],
        value: 2.0,
        timestamp,
    };
    let mut untimed = ok.clone();
    if let Some(n) = &mut untimed.native {
        n.exemplars.push(exemplar(None));
    }
    assert_eq!(broken(native_family(untimed)), Some(Rule::NativeHistogram));
    let mut timed = ok;
    if let Some(n) = &mut timed.native {
        n.exemplars.push(exemplar(Some(Timestamp {
            seconds: 1,
            nanos: 0,
        })));
    }
    assert_eq!(broken(native_family(timed)), None);
}

#[test]
fn exemplars_are_capped_at_128_runes() {
    let ex = |value: &str| {
        let mut f = Family::new(Kind::Counter, "c_total", "");
        f.push(
            vec![],
            Value::Counter {
                total: 1.0,
                exemplar: Some(Box::new(Exemplar {
                    labels: vec![Label {
                        name: "trace_id".into(),
                        value: value.into(),
                    }],
                    value: 1.0,
                    timestamp: None,
                })),
            },
        );
        f
    };
    let limits = Caps {
        max_label_value_length: 1024,
        ..LIMITS
    };
    // 8 + 120 = 128 characters (multi-byte ones count once).
    validate(&mut ex(&"ü".repeat(120)), limits).unwrap();
    let e = validate(&mut ex(&"ü".repeat(121)), limits).unwrap_err();
    assert_eq!(e.rule, Rule::Exemplar);
    assert!(e.why.contains("129 characters"), "{e}");
}

#[test]
fn summaries_and_statesets() {
    let summary = |qs: &[f64]| {
        let mut f = Family::new(Kind::Summary, "s", "");
        f.push(
            vec![],
            Value::Summary(Box::new(Summary {
                quantiles: qs
                    .iter()
                    .map(|&quantile| Quantile {
                        quantile,
                        value: f64::NAN,
                    })
                    .collect(),
                sum: 0.0,
                count: 0,
            })),
        );
        f
    };
    assert_eq!(broken(summary(&[0.5, 0.9])), None);
    assert_eq!(broken(summary(&[0.9, 0.5])), Some(Rule::Quantiles));
    assert_eq!(broken(summary(&[1.5])), Some(Rule::Quantiles));
    let state = |name: &str| State {
        name: name.into(),
        enabled: true,
    };
    let mut f = Family::new(Kind::Stateset, "mode", "");
    f.push(vec![], Value::Stateset(vec![state("a"), state("a")].into()));
    assert_eq!(broken(f), Some(Rule::States));
}
