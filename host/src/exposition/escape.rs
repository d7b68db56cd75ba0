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
use std::collections::HashMap;

use super::model::{Family, Kind};
use super::validate::rules::is_legacy_label_name;
pub use super::validate::rules::{Escaping, escape_name};

/// Whether any name in `families` changes under `scheme`.
pub fn changes(families: &[Family], scheme: Escaping) -> bool {
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
/// by the new names. A later family whose names (or label names) clash
/// after escaping is dropped and returned, and so is one that escaping
/// makes unwritable ([`unwritable`]). Nothing is copied when no name
/// changes.
pub fn apply(families: Vec<Family>, scheme: Escaping) -> (Vec<Family>, Vec<EscapeClash>) {
    let mut clashes = Vec::new();
    if !changes(&families, scheme) {
        let mut families = families;
        leave_out(&mut families, &mut clashes, |f| unwritable(f, scheme));
        return (families, clashes);
    }
    // Every sample or metadata name taken once escaped, and the family (as
    // the plugin named it) that took it.
    let mut claimed: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(families.len());
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
        if let Some(reason) = unwritable(&family, scheme) {
            clashes.push(EscapeClash {
                family: original,
                reason,
            });
            continue;
        }
        let reserved = family.reserved_names();
        if let Some((taken, by)) = reserved
            .iter()
            .find_map(|n| claimed.get(n).map(|by| (n, by)))
        {
            clashes.push(EscapeClash {
                reason: format!(
                    "its name is {taken:?} under escaping={}, as family {by}'s, which is kept (the first in name order)",
                    scheme.as_str()
                ),
                family: original,
            });
            continue;
        }
        claimed.extend(reserved.into_iter().map(|n| (n, original.clone())));
        out.push(family);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    (out, clashes)
}

/// Leaves out of `families` each one `why` gives a reason for, recording
/// it in `clashes`; copies nothing when there is none.
pub fn leave_out(
    families: &mut Vec<Family>,
    clashes: &mut Vec<EscapeClash>,
    why: impl Fn(&Family) -> Option<String>,
) {
    families.retain(|f| match why(f) {
        Some(reason) => {
            clashes.push(EscapeClash {
                family: f.name.clone(),
                reason,
            });
            false
        }
        None => true,
    });
}

/// Why `family`, its names already under `scheme`, cannot be written as a
/// scraper asking for `scheme` would parse it: a label name escaped into
/// the reserved `__` prefix (`..name..` is `__name__` under underscores),
/// or a stateset whose name, which names its state label, is no label
/// name there (a colon, outside allow-utf-8), is reserved, or is one of
/// its label names (`f.x` beside a label `f_x`).
pub fn unwritable(family: &Family, scheme: Escaping) -> Option<String> {
    let under = scheme.as_str();
    if let Some(l) = family.label_names.iter().find(|l| l.starts_with("__")) {
        return Some(format!(
            "its label name {l:?} under escaping={under} is reserved (__ prefix)"
        ));
    }
    if family.kind != Kind::Stateset {
        return None;
    }
    let state = family.name.as_str();
    if scheme != Escaping::AllowUtf8 && !is_legacy_label_name(state) {
        Some(format!(
            "its name {state:?} names its state label, and is no label name under escaping={under}"
        ))
    } else if state.starts_with("__") {
        Some(format!(
            "its name {state:?} names its state label, a reserved name (__ prefix)"
        ))
    } else if family.label_names.iter().any(|l| l == state) {
        Some(format!(
            "its name {state:?} names its state label, and is also one of its label names under escaping={under}"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::model::{State, Value};

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

    #[test]
    fn the_host_s_names_are_found_under_every_scheme_by_the_short_cut_too() {
        use crate::exposition::validate::rules::{HOST_PREFIXES, host_owns_escaped};
        // What `host_owns_escaped` answers, by its definition: escape the
        // name and each prefix under every scheme and compare.
        let by_definition = |name: &str| {
            Escaping::ALL.into_iter().find(|scheme| {
                HOST_PREFIXES.iter().any(|p| {
                    escape_name(name, *scheme, true).starts_with(&*escape_name(p, *scheme, true))
                })
            })
        };
        let names = [
            "process",
            "process_",
            "process_cpu_seconds_total",
            "processes_total",
            "process__x",
            "_process_x",
            ":process_x",
            "Process_x",
            "wasm_exporter",
            "wasm_exporter_plugin_up",
            "wasm__exporter_plugin_up",
            "wasm_exporterx",
            "promhttp_metric_handler_requests_total",
            "haproxy_backend_up",
            "wasm.exporter_plugin_up",
            "wasm_exporter.plugin_up",
            "process cpu",
            "U__process_x",
            "日本",
        ];
        for name in names {
            assert_eq!(host_owns_escaped(name), by_definition(name), "{name}");
        }
        assert!(HOST_PREFIXES.iter().all(|p| is_legacy_label_name(p)));
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

    fn stateset(name: &str, labels: &[&str]) -> Family {
        let mut f = Family::new(Kind::Stateset, name, "").with_labels(labels);
        f.push(
            labels.iter().map(|_| "v".to_owned()).collect(),
            Value::Stateset(
                vec![State {
                    name: "on".into(),
                    enabled: true,
                }]
                .into(),
            ),
        );
        f
    }

    /// What escaping makes unwritable is left out, with the reason; the
    /// rest of the exposition is kept.
    #[test]
    fn names_that_escaping_makes_unwritable_are_left_out() {
        let cases = [
            (
                gauge("g", &["..name.."]),
                "\"__name__\" under escaping=underscores is reserved",
            ),
            (
                gauge("h", &["..help"]),
                "\"__help\" under escaping=underscores is reserved",
            ),
            (stateset("f.x", &["f_x"]), "is also one of its label names"),
            (
                stateset("s:t", &[]),
                "is no label name under escaping=underscores",
            ),
        ];
        for (family, want) in cases {
            let name = family.name.clone();
            let (kept, clashes) = apply(vec![family, gauge("ok", &[])], Escaping::Underscores);
            let names: Vec<&str> = kept.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(names, ["ok"], "{name}");
            assert_eq!(clashes.len(), 1, "{name}: {clashes:?}");
            assert_eq!(clashes[0].family, name);
            assert!(
                clashes[0].reason.contains(want),
                "{name}: {}",
                clashes[0].reason
            );
        }
        // With UTF-8 names allowed, a colon in a stateset's name is quoted.
        let (kept, clashes) = apply(vec![stateset("s:t", &[])], Escaping::AllowUtf8);
        assert_eq!((kept.len(), clashes.len()), (1, 0));
    }
}
