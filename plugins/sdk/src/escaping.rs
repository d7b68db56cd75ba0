//! Name escaping, as Prometheus negotiates it (`escaping=`): how names
//! outside the legacy character set are written for a scraper that asked
//! for a scheme. Part of [`super`]'s rules (the host-name check escapes
//! names under every scheme).

use std::borrow::Cow;
use std::fmt::Write as _;

use super::{is_legacy_label_name, is_legacy_metric_name};

/// How names outside the legacy character set are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// As they are (quoted in text formats).
    AllowUtf8,
    /// Each other character becomes `_`.
    Underscores,
    /// `.` becomes `_dot_`, `_` becomes `__`, any other `__`.
    Dots,
    /// `U__`, then `_` as `__` and each other character as `_<hex>_`.
    Values,
}

impl Escaping {
    /// Every scheme, `allow-utf-8` (names as they are) first.
    pub const ALL: [Escaping; 4] = [
        Escaping::AllowUtf8,
        Escaping::Underscores,
        Escaping::Dots,
        Escaping::Values,
    ];

    /// The scheme named in an `escaping=` parameter (`allow-utf8`, as the
    /// content-negotiation document spells it, is taken too).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "allow-utf-8" | "allow-utf8" => Some(Escaping::AllowUtf8),
            "underscores" => Some(Escaping::Underscores),
            "dots" => Some(Escaping::Dots),
            "values" => Some(Escaping::Values),
            _ => None,
        }
    }

    /// The parameter's value, as echoed in `Content-Type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Escaping::AllowUtf8 => "allow-utf-8",
            Escaping::Underscores => "underscores",
            Escaping::Dots => "dots",
            Escaping::Values => "values",
        }
    }
}

/// A character that may stand at byte `i` of a legacy name.
fn legacy_char(c: char, i: usize, metric: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (metric && c == ':') || (c.is_ascii_digit() && i > 0)
}

/// `name` under `scheme`; `metric` tells a metric name (which may hold
/// `:`) from a label name.
pub fn escape_name(name: &str, scheme: Escaping, metric: bool) -> Cow<'_, str> {
    let legacy = if metric {
        is_legacy_metric_name(name)
    } else {
        is_legacy_label_name(name)
    };
    match scheme {
        Escaping::AllowUtf8 => Cow::Borrowed(name),
        Escaping::Underscores | Escaping::Values if legacy => Cow::Borrowed(name),
        Escaping::Dots if legacy && !name.contains('_') => Cow::Borrowed(name),
        Escaping::Underscores => Cow::Owned(
            name.char_indices()
                .map(|(i, c)| if legacy_char(c, i, metric) { c } else { '_' })
                .collect(),
        ),
        Escaping::Dots => {
            let mut out = String::with_capacity(name.len() + 8);
            for (i, c) in name.char_indices() {
                match c {
                    '_' => out.push_str("__"),
                    '.' => out.push_str("_dot_"),
                    c if legacy_char(c, i, metric) => out.push(c),
                    _ => out.push_str("__"),
                }
            }
            Cow::Owned(out)
        }
        Escaping::Values => {
            let mut out = String::with_capacity(name.len() + 8);
            out.push_str("U__");
            for (i, c) in name.char_indices() {
                match c {
                    '_' => out.push_str("__"),
                    c if legacy_char(c, i, metric) => out.push(c),
                    c => {
                        let _ = write!(out, "_{:x}_", u32::from(c));
                    }
                }
            }
            Cow::Owned(out)
        }
    }
}
