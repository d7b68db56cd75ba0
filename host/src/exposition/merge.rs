//! Merging the validated output of every plugin into one sorted exposition,
//! counting what each plugin got served. The host's own families never take
//! part: validation already dropped any plugin family that takes their
//! names, so they are simply added afterwards.
//!
//! As with client_golang's `Gatherers`, two sources may contribute series to
//! the same family if they agree on its type, help, unit and label names and
//! do not repeat a series. Anything else is a clash: the family of the source
//! that comes later (plugins are given in name order) is dropped and reported, and the rest is kept.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use std::sync::Arc;

use super::model::{Family, cmp_label_values};

/// A family dropped because it clashed with an earlier source's family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("family {family}: {reason}")]
pub struct Clash {
    /// The dropped family's name.
    pub family: String,
    /// What it clashed with.
    pub reason: String,
}

/// What the merge kept of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceReport {
    /// Series served.
    pub series: usize,
    /// Families dropped for clashing with an earlier source's.
    pub clashes: Vec<Clash>,
}

/// The merged exposition, and what became of each source.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// Every family, sorted by name, each with its series sorted.
    pub families: Vec<Family>,
    /// One report per source, in the order the sources were given.
    pub sources: Vec<SourceReport>,
}

/// Merges `sources` (each a list of validated families, series sorted) into
/// one list sorted by family name. Empty families are left out.
pub fn merge(sources: Vec<Vec<Family>>) -> Merged {
    let mut out: Vec<Family> = Vec::new();
    // Keyed by names the plugins chose: a hash seeded per process (as
    // std's), but several times faster than SipHash on short names.
    let mut by_name: HashMap<String, usize, RandomState> = HashMap::default();
    // Every OpenMetrics name taken (the stem of a family's sample and
    // metadata names), and the family that took it.
    let mut bases: HashMap<String, usize, RandomState> = HashMap::default();
    let mut scratch = String::new();
    let mut resort = Vec::new();
    let mut reports = Vec::with_capacity(sources.len());

    for families in sources {
        let mut report = SourceReport::default();
        for family in families.into_iter().filter(|f| !f.series.is_empty()) {
            let series = family.series.len();
            if let Some(&idx) = by_name.get(&family.name) {
                match absorb(&mut out[idx], family) {
                    Ok(()) => {
                        resort.push(idx);
                        report.series += series;
                    }
                    Err(clash) => report.clashes.push(clash),
                }
                continue;
            }
            if let Some(other) = collides(&family, &bases, &out, &mut scratch) {
                report.clashes.push(Clash {
                    reason: format!(
                        "its sample names collide with family {} from an earlier source",
                        out[other].name
                    ),
                    family: family.name,
                });
                continue;
            }
            let idx = out.len();
            bases.insert(family.openmetrics_name().to_owned(), idx);
            by_name.insert(family.name.clone(), idx);
            out.push(family);
            report.series += series;
        }
        reports.push(report);
    }
    resort.sort_unstable();
    resort.dedup();
    for idx in resort {
        Arc::make_mut(&mut out[idx].series)
            .sort_unstable_by(|a, b| cmp_label_values(&a.label_values, &b.label_values));
    }
    out.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Merged {
        families: out,
        sources: reports,
    }
}

/// The family of `out` (found by its OpenMetrics name in `bases`) that
/// takes a sample or metadata name `family` would take, if one does.
/// Nothing is allocated (`scratch` is reused): a name is a base and one of
/// its kind's suffixes, each of which starts with `_`, so two families
/// share a name only when their bases are equal or one base is the other's
/// followed by the start of a suffix:
///
/// - a longer one: `family`'s base, then the first part of one of its
///   suffixes, cut where the rest is empty or starts with `_` (that rest
///   the other family's suffix);
/// - a shorter one: `family`'s base cut before one of its `_` (the cut-off
///   part, then one of `family`'s suffixes or nothing, the other's suffix).
fn collides(
    family: &Family,
    bases: &HashMap<String, usize, RandomState>,
    out: &[Family],
    scratch: &mut String,
) -> Option<usize> {
    let base = family.openmetrics_name();
    let own = family.sample_suffixes();
    if let Some(&other) = bases.get(base) {
        return Some(other);
    }
    for suffix in own {
        let cuts = suffix
            .char_indices()
            .skip(1)
            .filter(|(_, c)| *c == '_')
            .map(|(k, _)| k)
            .chain([suffix.len()]);
        for k in cuts {
            scratch.clear();
            scratch.push_str(base);
            scratch.push_str(&suffix[..k]);
            if let Some(&other) = bases.get(scratch.as_str()) {
                let rest = &suffix[k..];
                if rest.is_empty() || out[other].sample_suffixes().contains(&rest) {
                    return Some(other);
                }
            }
        }
    }
    for (k, _) in base.char_indices().filter(|(_, c)| *c == '_') {
        let Some(&other) = bases.get(&base[..k]) else {
            continue;
        };
        let cut = &base[k..];
        let taken = out[other].sample_suffixes().iter().any(|theirs| {
            theirs
                .strip_prefix(cut)
                .is_some_and(|rest| rest.is_empty() || own.contains(&rest))
        });
        if taken {
            return Some(other);
        }
    }
    None
}

/// Appends `incoming`'s series to `existing` if the two agree; otherwise
/// returns the incoming family's name and why it was refused.
fn absorb(existing: &mut Family, incoming: Family) -> Result<(), Clash> {
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
        Some(reason) => Err(Clash {
            family: incoming.name,
            reason,
        }),
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
        let merged = merge(vec![
            vec![
                fam(Kind::Gauge, "zeta", &["a"]),
                fam(Kind::Gauge, "alpha", &["b"]),
            ],
            vec![fam(Kind::Gauge, "alpha", &["a"])],
        ]);
        let out = merged.families;
        let series: Vec<usize> = merged.sources.iter().map(|s| s.series).collect();
        assert_eq!(series, [2, 1]);
        assert!(merged.sources.iter().all(|s| s.clashes.is_empty()));
        let names: Vec<&str> = out.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        let alpha: Vec<&str> = out[0].series.iter().map(|s| &*s.label_values[0]).collect();
        assert_eq!(alpha, ["a", "b"]);
    }

    #[test]
    fn later_source_loses_a_type_clash() {
        let merged = merge(vec![
            vec![fam(Kind::Gauge, "x", &["a"])],
            vec![
                fam(Kind::Counter, "x", &["b"]),
                fam(Kind::Gauge, "y", &["b"]),
            ],
        ]);
        assert_eq!(merged.families.len(), 2);
        assert_eq!(merged.families[0].series.len(), 1);
        assert!(merged.sources[0].clashes.is_empty());
        assert_eq!(merged.sources[1].series, 1);
        assert_eq!(
            merged.sources[1].clashes,
            [Clash {
                family: "x".into(),
                reason: "type counter differs from gauge of an earlier source".into()
            }]
        );
    }

    #[test]
    fn duplicate_series_across_sources_clash() {
        let merged = merge(vec![
            vec![fam(Kind::Gauge, "x", &["a", "b"])],
            vec![fam(Kind::Gauge, "x", &["b"])],
        ]);
        assert_eq!(merged.families[0].series.len(), 2);
        assert_eq!(merged.sources[1].series, 0);
        assert_eq!(
            merged.sources[1].clashes[0].reason,
            "series [\"b\"] already comes from an earlier source"
        );
    }

    #[test]
    fn suffixed_names_clash() {
        // A histogram `h` owns `h_count`; a gauge of that name comes later.
        let mut h = Family::new(Kind::Histogram, "h", "help");
        h.push(vec![], Value::Gauge(0.0));
        let merged = merge(vec![
            vec![h],
            vec![fam(Kind::Gauge, "h_count", &["a"])],
            // Counter `c_total` is `c` in OpenMetrics, so a gauge `c` clashes.
            vec![
                fam(Kind::Counter, "c_total", &["a"]),
                fam(Kind::Gauge, "c", &["a"]),
            ],
        ]);
        let names: Vec<&str> = merged.families.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["c_total", "h"]);
        let dropped: Vec<&str> = merged
            .sources
            .iter()
            .flat_map(|s| s.clashes.iter().map(|c| c.family.as_str()))
            .collect();
        assert_eq!(dropped, ["h_count", "c"]);
    }

    /// Every pair of families, of every kind, named from stems and parts
    /// of suffixes that make (and miss) each way of sharing a name: the
    /// search without sets finds a clash exactly when their sets of
    /// reserved names meet, in either order.
    #[test]
    fn a_clash_is_found_exactly_when_reserved_names_meet() {
        let kinds = [
            Kind::Counter,
            Kind::Gauge,
            Kind::Unknown,
            Kind::Histogram,
            Kind::GaugeHistogram,
            Kind::Summary,
            Kind::Info,
            Kind::Stateset,
        ];
        let tails = [
            "",
            "_total",
            "_created",
            "_info",
            "_bucket",
            "_sum",
            "_count",
            "_gsum",
            "_gcount",
            "_total_total",
            "_sum_count",
            "_x",
            "_",
            "_su",
            "total",
            "_info_total",
        ];
        let names: Vec<String> = ["a", "a_b", "_a"]
            .iter()
            .flat_map(|stem| tails.iter().map(move |t| format!("{stem}{t}")))
            .collect();
        let mut pairs = 0;
        for first_kind in kinds {
            for second_kind in kinds {
                for first in &names {
                    for second in &names {
                        if first == second {
                            continue;
                        }
                        let a = Family::new(first_kind, first, "h");
                        let b = Family::new(second_kind, second, "h");
                        let want = a
                            .reserved_names()
                            .iter()
                            .any(|n| b.reserved_names().contains(n));
                        let mut bases = HashMap::default();
                        bases.insert(a.openmetrics_name().to_owned(), 0);
                        let got =
                            collides(&b, &bases, std::slice::from_ref(&a), &mut String::new());
                        assert_eq!(
                            got.is_some(),
                            want,
                            "{first_kind:?} {first} then {second_kind:?} {second}"
                        );
                        pairs += usize::from(want);
                    }
                }
            }
        }
        assert!(pairs > 1000, "the cases must clash often: {pairs}");
    }

    #[test]
    fn empty_families_are_left_out() {
        let merged = merge(vec![vec![fam(Kind::Gauge, "x", &[])]]);
        assert!(merged.families.is_empty());
        assert_eq!(merged.sources, [SourceReport::default()]);
    }
}
