//! Durations in Prometheus' syntax, the one grammar for every duration of
//! wasm_exporter: the host's flags, `limits:` and plugins' `config:` alike.
//!
//! A duration is one or more `<whole number><unit>` parts with the units
//! in decreasing order, each at most once: `y` (365 days), `w`, `d`, `h`,
//! `m`, `s`, `ms`. Examples: `1h30m`, `10s`, `500ms`, `0`. A bare number
//! other than `0` is refused: it says nothing of its unit.
//!
//! This file depends on nothing but `std`, so that the host compiles the
//! very same source.

use std::time::Duration;

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    input: String,
    hint: &'static str,
}

impl std::fmt::Display for DurationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {}; use whole numbers with units \
             y, w, d, h, m, s or ms, such as 1h30m, 10s or 500ms",
            self.input, self.hint
        )
    }
}

impl std::error::Error for DurationError {}

/// The error for a duration written as a bare number (in YAML or JSON),
/// the same words wherever it is read.
pub fn bare_number(n: impl std::fmt::Display) -> String {
    format!("invalid duration {n}: a number needs a unit; write it with one, such as {n}s")
}

/// Units from the largest down, with their length in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// Parses a duration in Prometheus' syntax (see the module docs).
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let err = |hint| DurationError {
        input: s.to_owned(),
        hint,
    };
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(err("it is empty"));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(err("a number needs a unit"));
    }
    let mut rest = s;
    let mut next_unit = 0;
    let mut millis: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err(if rest.starts_with(['.', '-', '+']) {
                "only whole, unsigned numbers are allowed"
            } else {
                "each unit needs a number before it"
            }));
        }
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        if unit_len == 0 {
            return Err(err(if tail.starts_with('.') {
                "only whole numbers are allowed (1500ms, not 1.5s)"
            } else {
                "a number needs a unit"
            }));
        }
        let (unit, tail) = tail.split_at(unit_len);
        let Some(position) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(err("unknown unit"));
        };
        if position < next_unit {
            return Err(err(
                "units must go from the largest to the smallest, once each",
            ));
        }
        next_unit = position + 1;
        let n: u64 = number.parse().map_err(|_| err("number too large"))?;
        millis = n
            .checked_mul(UNITS[position].1)
            .and_then(|v| millis.checked_add(v))
            .ok_or_else(|| err("too long"))?;
        rest = tail;
    }
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations() {
        let ok = [
            ("0", 0),
            ("500ms", 500),
            ("10s", 10_000),
            ("1m30s", 90_000),
            ("1h30m", 5_400_000),
            ("2d", 172_800_000),
            ("1w", 604_800_000),
            ("1y", 31_536_000_000),
            ("1h0m5s250ms", 3_605_250),
        ];
        for (text, millis) in ok {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(millis)),
                "{text}"
            );
        }
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let cases = [
            ("10", "a number needs a unit"),
            ("1.5", "a number needs a unit"),
            ("", "it is empty"),
            ("1.5s", "only whole numbers"),
            ("-1s", "only whole, unsigned"),
            ("10 s", "a number needs a unit"),
            ("5years", "unknown unit"),
            ("100us", "unknown unit"),
            ("30s1m", "from the largest to the smallest"),
            ("1s1s", "from the largest to the smallest"),
            ("s", "needs a number"),
            ("99999999999999999999s", "number too large"),
            ("999999999999y", "too long"),
        ];
        for (text, hint) in cases {
            let e = parse_duration(text).err().map(|e| e.to_string());
            assert!(
                e.as_deref().is_some_and(|e| e.contains(hint)),
                "{text:?}: {e:?} lacks {hint:?}"
            );
        }
    }
}
