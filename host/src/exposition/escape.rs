//! UTF-8 metric and label names for scrapers that cannot read them: the
//! escaping schemes Prometheus negotiates (`escaping=` in `Accept`), applied
//! to the merged exposition between merge and encode.
//!
//! With `allow-utf-8` names go out as they are (text formats quote the ones
//! outside the legacy character set); `underscores` (the default) replaces
//! every other character with `_`; `dots` writes `.` as `_dot_` and `_` as
//! `__`; `values` writes `U__` and each other character as `_<hex>_`. Two
//! families whose names become the same are a clash: the first (in name
//! order) is kept, the later one dropped and reported.

use std::borrow::Cow;
use std::collections::HashSet;

use super::model::Family;
pub use super::validate::rules::{Escaping, escape_name};

/// Whether any name in `families` changes under `scheme`.
fn changes(families: &[Family], scheme: Escaping) -> bool {
    families.iter().any(|f| {
        matches!(escape_name(&f.name, scheme, true), Cow::Owned(_))
            || f.label_names
                .iter()
                .any(|l| matches!(escape_name(l, scheme, false), Cow::Owned(_)))
    })
}

/// What [`apply`] dropped: a family and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeClash {
    /// The dropped family's name, as the plugin gave it.
    pub family: String,
    /// What it clashed with.
    pub reason: String,
}

impl std::fmt::Display for EscapeClash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "family {}: {}", self.family, self.reason)
    }
}

/// The families with their metric and label names under `scheme`, sorted
/// by the new names; later families whose names (or label names) clash
/// after escaping are dropped and returned. Nothing is copied when no name
/// changes.
pub fn apply(families: Vec<Family>, scheme: Escaping) -> (Vec<Family>, Vec<EscapeClash>) {
    if !changes(&families, scheme) {
        return (families, Vec::new());
    }
    let mut claimed: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(families.len());
    let mut clashes = Vec::new();
    for mut family in families {
        let original = family.name.clone();
        family.name = escape_name(&family.name, scheme, true).into_owned();
        let labels: Vec<String> = family
            .label_names
            .iter()
            .map(|l| escape_name(l, scheme, false).into_owned())
            .collect();
        if let Some(l) = labels
            .iter()
            .enumerate()
            .find(|(i, l)| labels[..*i].contains(l))
            .map(|(_, l)| l)
        {
            clashes.push(EscapeClash {
                family: original,
                reason: format!(
                    "two of its label names are both {l:?} under escaping={}",
                    scheme.as_str()
                ),
            });
            continue;
        }
        family.label_names = labels;
        let reserved = family.reserved_names();
        if let Some(taken) = reserved.iter().find(|n| claimed.contains(*n)) {
            clashes.push(EscapeClash {
                family: original,
                reason: format!(
                    "its name is {taken:?} under escaping={}, as an earlier family's",
                    scheme.as_str()
                ),
            });
            continue;
        }
        claimed.extend(reserved);
        out.push(family);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    (out, clashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::model::{Kind, Value};

    #[test]
    fn each_scheme_as_the_escaping_document_gives_it() {
        let cases = [
            (
                "metric.name/with/slashes",
                Escaping::Underscores,
                "metric_name_with_slashes",
            ),
            (
                "metric.name.with.dots",
                Escaping::Dots,
                "metric_dot_name_dot_with_dot_dots",
            ),
            ("metric.name", Escaping::Values, "U__metric_2e_name"),
            ("http_requests", Escaping::Dots, "http__requests"),
            ("http_requests", Escaping::Values, "http_requests"),
            ("http_requests", Escaping::Underscores, "http_requests"),
            ("a.b_c", Escaping::Values, "U__a_2e_b__c"),
            ("日本", Escaping::Values, "U___65e5__672c_"),
            ("9lives", Escaping::Underscores, "_lives"),
            ("a.b", Escaping::AllowUtf8, "a.b"),
        ];
        for (name, scheme, want) in cases {
            assert_eq!(escape_name(name, scheme, true), want, "{name} {scheme:?}");
        }
        // `:` is legacy in metric names only.
        assert_eq!(escape_name("a:b", Escaping::Underscores, true), "a:b");
        assert_eq!(escape_name("a:b", Escaping::Underscores, false), "a_b");
    }

    fn gauge(name: &str, labels: &[&str]) -> Family {
        let mut f = Family::new(Kind::Gauge, name, "").with_labels(labels);
        f.push(
            labels.iter().map(|_| "v".to_owned()).collect(),
            Value::Gauge(1.0),
        );
        f
    }

    #[test]
    fn names_equal_after_escaping_keep_the_first() {
        let families = vec![
            gauge("a.b", &[]),
            gauge("a_b", &[]),
            gauge("c", &["x.y", "x_y"]),
        ];
        let (kept, clashes) = apply(families.clone(), Escaping::Underscores);
        let names: Vec<&str> = kept.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a_b"]);
        assert_eq!(clashes.len(), 2, "{clashes:?}");
        assert_eq!(clashes[0].family, "a_b");
        assert_eq!(clashes[1].family, "c");
        // No clash when names may stay as they are.
        let (kept, clashes) = apply(families, Escaping::AllowUtf8);
        assert_eq!(kept.len(), 3);
        assert!(clashes.is_empty());
    }
}
