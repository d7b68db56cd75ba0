//! The collection-level step of validation: caps, label-value indices,
//! instance labels and the names the host owns, as given or escaped.

use super::tests::{LIMITS, gauge};
use super::*;
use crate::exposition::model::{Kind, Value};

fn raw(name: &str, labels: &[&str], indices: &[u32], series: usize) -> RawFamily {
    let mut family = gauge(name, labels);
    for _ in 0..series {
        family.push(vec![], Value::Gauge(1.0));
    }
    RawFamily {
        family,
        label_indices: indices.to_vec(),
        native_error: None,
    }
}

fn owns_nothing(_: &str) -> Option<rules::Escaping> {
    None
}

fn check(collection: RawCollection) -> Result<Checked, Refusal> {
    let ctx = Context {
        limits: LIMITS,
        const_labels: &[],
        host_owns: &owns_nothing,
    };
    super::collection(collection, &ctx)
}

/// Each dropped family's name and the rule it broke.
fn dropped_of(checked: &Checked) -> Vec<(&str, Rule)> {
    checked
        .dropped
        .iter()
        .map(|d| (d.family.as_str(), d.rule))
        .collect()
}

fn strings(v: &[&str]) -> Vec<LabelValue> {
    v.iter().map(|s| LabelValue::from(*s)).collect()
}

#[test]
fn a_collection_over_a_cap_is_refused_whole() {
    let families = (0..4).map(|i| raw(&format!("f{i}"), &[], &[], 1)).collect();
    let e = check(RawCollection {
        strings: vec![],
        families,
    })
    .unwrap_err();
    assert_eq!(e, Refusal::TooManyFamilies { count: 4, limit: 3 });
    assert_eq!(e.reason(), Reason::TooManyFamilies);
    let e = check(RawCollection {
        strings: vec![],
        families: vec![raw("f", &[], &[], 11)],
    })
    .unwrap_err();
    assert_eq!(
        e,
        Refusal::TooManySeries {
            count: 11,
            limit: 10
        }
    );
}

#[test]
fn label_indices_are_resolved_or_the_family_dropped() {
    let checked = check(RawCollection {
        strings: strings(&["x", "y"]),
        families: vec![
            raw("good", &["a"], &[1, 0], 2),
            raw("short", &["a"], &[0], 2),
            raw("outside", &["a"], &[2], 1),
        ],
    })
    .unwrap();
    assert_eq!(checked.families.len(), 1);
    let values: Vec<&str> = checked.families[0]
        .series
        .iter()
        .map(|s| &*s.label_values[0])
        .collect();
    assert_eq!(values, ["x", "y"], "resolved and sorted");
    let rules: Vec<Rule> = checked.dropped.iter().map(|d| d.rule).collect();
    assert_eq!(rules, [Rule::LabelShape, Rule::LabelIndex]);
    // A series pointing outside its family's native histograms.
    let checked = check(RawCollection {
        strings: Vec::new(),
        families: vec![RawFamily {
            native_error: Some("native histogram index 3 outside the family's 1".into()),
            ..raw("native", &[], &[], 1)
        }],
    })
    .unwrap();
    assert!(checked.families.is_empty());
    assert_eq!(checked.dropped[0].rule, Rule::NativeHistogram);
}

#[test]
fn constant_labels_go_first_and_may_not_repeat_the_plugin_s() {
    let const_labels = [("site".to_owned(), LabelValue::from("edge"))];
    let ctx = Context {
        limits: LIMITS,
        const_labels: &const_labels,
        host_owns: &owns_nothing,
    };
    let checked = collection(
        RawCollection {
            strings: strings(&["x"]),
            families: vec![raw("g", &["a"], &[0], 1), raw("h", &["site"], &[0], 1)],
        },
        &ctx,
    )
    .unwrap();
    assert_eq!(checked.families[0].label_names, ["site", "a"]);
    let values: Vec<&str> = checked.families[0].series[0]
        .label_values
        .iter()
        .map(|v| &**v)
        .collect();
    assert_eq!(values, ["edge", "x"]);
    assert_eq!(checked.dropped[0].rule, Rule::LabelNameRepeated);
}

#[test]
fn names_the_host_serves_are_a_clash() {
    let owns = |n: &str| {
        (n.starts_with("wasm_exporter_") || n == "up_total").then_some(rules::Escaping::AllowUtf8)
    };
    let ctx = Context {
        limits: LIMITS,
        const_labels: &[],
        host_owns: &owns,
    };
    let mut counter = Family::new(Kind::Counter, "up_total", "");
    counter.push(
        vec![],
        Value::Counter {
            total: 1.0,
            exemplar: None,
        },
    );
    let checked = collection(
        RawCollection {
            strings: vec![],
            families: vec![
                raw("wasm_exporter_plugin_up", &[], &[], 1),
                raw("mine", &[], &[], 1),
                RawFamily {
                    family: counter,
                    label_indices: vec![],
                    native_error: None,
                },
            ],
        },
        &ctx,
    )
    .unwrap();
    assert_eq!(checked.families.len(), 1);
    assert_eq!(checked.families[0].name, "mine");
    for dropped in &checked.dropped {
        assert_eq!(dropped.rule, Rule::HostName);
        assert_eq!(dropped.reason(), Reason::NameClash);
    }
    assert_eq!(checked.dropped.len(), 2);
}

#[test]
fn instance_label_names_follow_the_family_rules() {
    assert_eq!(check_label_name("site", 32), Ok(()));
    assert_eq!(
        check_label_name("__x", 32).map_err(|e| e.0),
        Err(Rule::LabelNameReserved)
    );
    assert_eq!(check_label_name("a-b", 32), Ok(()));
    assert_eq!(
        check_label_name("", 32).map_err(|e| e.0),
        Err(Rule::LabelName)
    );
}

/// A name that becomes the host's once escaped is the host's: under
/// `underscores`, what Prometheus 2 and most scrapers get.
#[test]
fn names_that_become_the_host_s_once_escaped_are_a_clash() {
    let ctx = Context {
        limits: Caps {
            max_families: 10,
            ..LIMITS
        },
        const_labels: &[],
        host_owns: &rules::host_owns_escaped,
    };
    let spoofs = [
        "wasm_exporter.plugin_up",
        "process.resident_memory_bytes",
        "wasm_exporter.build_info",
        "promhttp.metric_handler_requests_in_flight",
        "wasm·exporter·plugin·up",
    ];
    let mut families: Vec<RawFamily> = spoofs.iter().map(|n| raw(n, &[], &[], 1)).collect();
    families.push(raw("wasm_exporters.ok", &[], &[], 1));
    families.push(raw("my.process_x", &[], &[], 1));
    let checked = collection(
        RawCollection {
            strings: vec![],
            families,
        },
        &ctx,
    )
    .unwrap();
    let kept: Vec<&str> = checked.families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(kept, ["wasm_exporters.ok", "my.process_x"]);
    let dropped = dropped_of(&checked);
    assert_eq!(
        dropped,
        spoofs
            .iter()
            .map(|n| (*n, Rule::HostName))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        checked.dropped[0].why,
        "the name wasm_exporter.plugin_up is wasm_exporter_plugin_up under escaping=underscores, a name the host serves"
    );
    assert_eq!(
        checked.dropped[4].why,
        "the name wasm·exporter·plugin·up is wasm_exporter_plugin_up under escaping=underscores, a name the host serves"
    );
}

/// Each family's series as (label values, value), in order.
fn rows_of(family: &Family) -> Vec<(Vec<String>, f64)> {
    family
        .series
        .iter()
        .map(|s| {
            let labels = s.label_values.iter().map(|v| v.to_string()).collect();
            match s.value {
                Value::Gauge(v) => (labels, v),
                _ => unreachable!("gauges only"),
            }
        })
        .collect()
}

fn wide() -> Context<'static> {
    Context {
        limits: Caps {
            max_series: 100,
            max_families: 10,
            ..LIMITS
        },
        const_labels: &[],
        host_owns: &owns_nothing,
    }
}

/// A gauge family of `labels` over `rows` (label-value indices), its
/// series valued `base`, `base + 1`, ... in the order given.
fn family_of(name: &str, labels: &[&str], rows: &[u32], base: f64) -> RawFamily {
    let mut f = raw(name, labels, rows, 0);
    for i in 0..rows.len() / labels.len() {
        f.family.push(vec![], Value::Gauge(base + i as f64));
    }
    f
}

#[test]
fn families_with_the_same_rows_are_ordered_alike_and_each_keeps_its_values() {
    // Rows (b2,x1), (a,x2), (b10,y1), (b1,y2): out of order, as a plugin
    // naming objects b1..b10 gives them, in an order that is not its own
    // inverse.
    let table = strings(&["b2", "x1", "a", "x2", "b10", "y1", "b1", "y2"]);
    let rows: &[u32] = &[0, 1, 2, 3, 4, 5, 6, 7];
    let checked = collection(
        RawCollection {
            strings: table,
            families: vec![
                family_of("first", &["k", "v"], rows, 0.0),
                family_of("second", &["k", "v"], rows, 10.0),
                // The same indices as one label per series: eight series,
                // which the order of the four above does not fit.
                family_of("single", &["k"], rows, 20.0),
                family_of("third", &["k", "v"], rows, 30.0),
            ],
        },
        &wide(),
    )
    .unwrap();
    assert!(checked.dropped.is_empty(), "{:?}", checked.dropped);
    let one = |l: &str, v: f64| (vec![l.to_owned()], v);
    let two = |a: &str, b: &str, v: f64| (vec![a.to_owned(), b.to_owned()], v);
    for (family, base) in checked.families.iter().zip([0.0, 10.0, 20.0, 30.0]) {
        let want = if family.name == "single" {
            vec![
                one("a", 22.0),
                one("b1", 26.0),
                one("b10", 24.0),
                one("b2", 20.0),
                one("x1", 21.0),
                one("x2", 23.0),
                one("y1", 25.0),
                one("y2", 27.0),
            ]
        } else {
            vec![
                two("a", "x2", base + 1.0),
                two("b1", "y2", base + 3.0),
                two("b10", "y1", base + 2.0),
                two("b2", "x1", base),
            ]
        };
        assert_eq!(rows_of(family), want, "{}", family.name);
    }
}

#[test]
fn a_family_with_the_rows_of_one_that_repeated_a_series_is_checked_on_its_own() {
    let table = strings(&["b", "x", "a"]);
    let checked = collection(
        RawCollection {
            strings: table,
            families: vec![
                family_of("fine", &["k", "v"], &[2, 1, 0, 1], 0.0),
                family_of("twice", &["k", "v"], &[0, 1, 0, 1], 0.0),
                family_of("again", &["k", "v"], &[0, 1, 0, 1], 0.0),
            ],
        },
        &wide(),
    )
    .unwrap();
    let dropped = dropped_of(&checked);
    assert_eq!(
        dropped,
        [
            ("twice", Rule::DuplicateSeries),
            ("again", Rule::DuplicateSeries)
        ]
    );
}

/// Series are ordered by the ranks of their indices in the table: the same
/// order as by their values, a value the table repeats (at two indices)
/// ranking once, so that the next label decides between two series with
/// it, and two series with it are one series twice; and the same with
/// instance labels in front.
#[test]
fn series_ordered_by_index_ranks_are_in_value_order() {
    // "m" at 1 and at 4; rows (z,m), (m,n), (m,a) as (0,1), (1,3), (4,2):
    // ranked apart, the two "m" would put (m,n) before (m,a).
    let table = strings(&["z", "m", "a", "n", "m"]);
    let const_labels = [("instance".to_owned(), LabelValue::from("i"))];
    for consts in [&[][..], &const_labels[..]] {
        let ctx = Context {
            const_labels: consts,
            ..wide()
        };
        let checked = collection(
            RawCollection {
                strings: table.clone(),
                families: vec![
                    family_of("ordered", &["k", "v"], &[0, 1, 1, 3, 4, 2], 0.0),
                    family_of("twice", &["k", "v"], &[2, 1, 0, 3, 2, 4], 0.0),
                ],
            },
            &ctx,
        )
        .unwrap();
        let prefix: Vec<String> = consts.iter().map(|_| "i".to_owned()).collect();
        let row = |k: &str, v: &str| {
            let mut labels = prefix.clone();
            labels.extend([k.to_owned(), v.to_owned()]);
            labels
        };
        assert_eq!(
            rows_of(&checked.families[0]),
            [
                (row("m", "a"), 2.0),
                (row("m", "n"), 1.0),
                (row("z", "m"), 0.0)
            ]
        );
        assert_eq!(dropped_of(&checked), [("twice", Rule::DuplicateSeries)]);
    }
}

#[test]
fn families_with_the_same_label_indices_share_one_table_of_values() {
    let instance = [("instance".to_owned(), LabelValue::from("i1"))];
    for const_labels in [&[][..], &instance[..]] {
        let ctx = Context {
            limits: Caps {
                max_series: 100,
                max_families: 10,
                ..LIMITS
            },
            const_labels,
            host_owns: &owns_nothing,
        };
        let checked = super::collection(
            RawCollection {
                strings: strings(&["w", "x", "y", "z"]),
                families: vec![
                    raw("a", &["k", "l"], &[0, 1, 2, 3], 2),
                    raw("b", &["k", "l"], &[0, 1, 2, 3], 2),
                    // The same indices as one label each: other rows.
                    raw("c", &["k"], &[0, 1, 2, 3], 4),
                    raw("d", &["k", "l"], &[1, 0, 3, 2], 2),
                ],
            },
            &ctx,
        )
        .unwrap();
        assert!(checked.dropped.is_empty(), "{:?}", checked.dropped);
        let values = |name: &str| -> Vec<Vec<String>> {
            let f = checked.families.iter().find(|f| f.name == name).unwrap();
            f.series
                .iter()
                .map(|s| s.label_values.iter().map(|v| v.to_string()).collect())
                .collect()
        };
        let with = |rows: &[&[&str]]| -> Vec<Vec<String>> {
            rows.iter()
                .map(|r| {
                    const_labels
                        .iter()
                        .map(|(_, v)| v.to_string())
                        .chain(r.iter().map(|v| (*v).to_owned()))
                        .collect()
                })
                .collect()
        };
        assert_eq!(values("a"), with(&[&["w", "x"], &["y", "z"]]));
        assert_eq!(values("b"), values("a"));
        assert_eq!(values("c"), with(&[&["w"], &["x"], &["y"], &["z"]]));
        assert_eq!(values("d"), with(&[&["x", "w"], &["z", "y"]]));
        let rows = |name: &str| -> Vec<*const LabelValue> {
            let f = checked.families.iter().find(|f| f.name == name).unwrap();
            f.series.iter().map(|s| s.label_values.as_ptr()).collect()
        };
        assert_eq!(rows("a"), rows("b"), "b shares a's table");
        for other in ["c", "d"] {
            assert!(
                rows(other).iter().all(|r| !rows("a").contains(r)),
                "{other} has a table of its own"
            );
        }
    }
}
