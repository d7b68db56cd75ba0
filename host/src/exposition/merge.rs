//! Merging the validated output of every source (the host's own metrics and
//! each plugin) into one sorted exposition.
//!
//! As with client_golang's `Gatherers`, two sources may contribute series to
//! the same family if they agree on its type, help, unit and label names and
//! do not repeat a series. Anything else is a clash: the family of the source
//! that comes later (sources are given in order: host first, then plugins by
//! name) is dropped and reported, and the rest is kept.

use std::collections::HashMap;
use std::sync::Arc;

use super::model::{Family, cmp_label_values};

/// A family dropped because it clashed with an earlier source's family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    /// Index of the source whose family was dropped.
    pub source: usize,
    /// The dropped family's name.
    pub family: String,
    /// What it clashed with.
    pub reason: String,
}

/// Merges `sources` (each a list of validated families, series sorted) into
/// one list sorted by family name. Empty families are left out.
pub fn merge(sources: Vec<Vec<Family>>) -> (Vec<Family>, Vec<Clash>) {
    let mut out: Vec<Family> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    // Every sample or metadata name taken, and the family that took it.
    let mut claimed: HashMap<String, usize> = HashMap::new();
    let mut resort = Vec::new();
    let mut clashes = Vec::new();

    for (source, families) in sources.into_iter().enumerate() {
        for family in families.into_iter().filter(|f| !f.series.is_empty()) {
            if let Some(&idx) = by_name.get(&family.name) {
                match absorb(&mut out[idx], family) {
                    Ok(()) => resort.push(idx),
                    Err((name, reason)) => clashes.push(Clash {
                        source,
                        family: name,
                        reason,
                    }),
                }
                continue;
            }
            let reserved = family.reserved_names();
            if let Some(other) = reserved.iter().find_map(|n| claimed.get(n)) {
                clashes.push(Clash {
                    source,
                    reason: format!(
                        "its sample names collide with family {} from an earlier source",
                        out[*other].name
                    ),
                    family: family.name,
                });
                continue;
            }
            let idx = out.len();
            for name in reserved {
                claimed.insert(name, idx);
            }
            by_name.insert(family.name.clone(), idx);
            out.push(family);
        }
    }
    resort.sort_unstable();
    resort.dedup();
    for idx in resort {
        Arc::make_mut(&mut out[idx].series)
            .sort_unstable_by(|a, b| cmp_label_values(&a.label_values, &b.label_values));
    }
    out.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    (out, clashes)
}

/// Appends `incoming`'s series to `existing` if the two agree; otherwise
/// returns the incoming family's name and why it was refused.
fn absorb(existing: &mut Family, incoming: Family) -> Result<(), (String, String)> {
    let mismatch = if existing.kind != incoming.kind {
        Some(format!(
            "type {} differs from {} of an earlier source",
            incoming.kind.openmetrics_name(),
            existing.kind.openmetrics_name()
        ))
    } else if existing.help != incoming.help {
        Some("help differs from an earlier source's".to_owned())
    } else if existing.unit != incoming.unit {
        Some("unit differs from an earlier source's".to_owned())
    } else if existing.label_names != incoming.label_names {
        Some("label names differ from an earlier source's".to_owned())
    } else {
        incoming
            .series
            .iter()
            .find(|s| {
                existing
                    .series
                    .binary_search_by(|e| cmp_label_values(&e.label_values, &s.label_values))
                    .is_ok()
            })
            .map(|s| {
                format!(
                    "series {:?} already comes from an earlier source",
                    s.label_values
                )
            })
    };
    match mismatch {
        Some(reason) => Err((incoming.name, reason)),
        None => {
            match Arc::try_unwrap(incoming.series) {
                Ok(series) => Arc::make_mut(&mut existing.series).extend(series),
                Err(shared) => Arc::make_mut(&mut existing.series).extend(shared.iter().cloned()),
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::model::{Kind, Value};

    fn fam(kind: Kind, name: &str, values: &[&str]) -> Family {
        let mut f = Family::new(kind, name, "help").with_labels(&["l"]);
        for v in values {
            let value = match kind {
                Kind::Counter => Value::Counter {
                    total: 1.0,
                    exemplar: None,
                },
                _ => Value::Gauge(1.0),
            };
            f.push(vec![(*v).to_owned()], value);
        }
        f
    }

    #[test]
    fn sorts_families_and_merges_agreeing_sources() {
        let (out, clashes) = merge(vec![
            vec![
                fam(Kind::Gauge, "zeta", &["a"]),
                fam(Kind::Gauge, "alpha", &["b"]),
            ],
            vec![fam(Kind::Gauge, "alpha", &["a"])],
        ]);
        assert!(clashes.is_empty(), "{clashes:?}");
        let names: Vec<&str> = out.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        let alpha: Vec<&str> = out[0].series.iter().map(|s| &*s.label_values[0]).collect();
        assert_eq!(alpha, ["a", "b"]);
    }

    #[test]
    fn later_source_loses_a_type_clash() {
        let (out, clashes) = merge(vec![
            vec![fam(Kind::Gauge, "x", &["a"])],
            vec![
                fam(Kind::Counter, "x", &["b"]),
                fam(Kind::Gauge, "y", &["b"]),
            ],
        ]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].series.len(), 1);
        assert_eq!(clashes.len(), 1);
        assert_eq!(clashes[0].source, 1);
        assert_eq!(clashes[0].family, "x");
    }

    #[test]
    fn duplicate_series_across_sources_clash() {
        let (out, clashes) = merge(vec![
            vec![fam(Kind::Gauge, "x", &["a", "b"])],
            vec![fam(Kind::Gauge, "x", &["b"])],
        ]);
        assert_eq!(out[0].series.len(), 2);
        assert_eq!(clashes.len(), 1);
    }

    #[test]
    fn suffixed_names_clash() {
        // A histogram `h` owns `h_count`; a gauge of that name comes later.
        let mut h = Family::new(Kind::Histogram, "h", "help");
        h.push(vec![], Value::Gauge(0.0));
        let (out, clashes) = merge(vec![
            vec![h],
            vec![fam(Kind::Gauge, "h_count", &["a"])],
            // Counter `c_total` is `c` in OpenMetrics, so a gauge `c` clashes.
            vec![
                fam(Kind::Counter, "c_total", &["a"]),
                fam(Kind::Gauge, "c", &["a"]),
            ],
        ]);
        let names: Vec<&str> = out.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["c_total", "h"]);
        let dropped: Vec<&str> = clashes.iter().map(|c| c.family.as_str()).collect();
        assert_eq!(dropped, ["h_count", "c"]);
    }

    #[test]
    fn empty_families_are_left_out() {
        let (out, clashes) = merge(vec![vec![fam(Kind::Gauge, "x", &[])]]);
        assert!(out.is_empty());
        assert!(clashes.is_empty());
    }
}
