//! Number and string formatting shared by the encoders.
//!
//! Floats are written as Go's `strconv.FormatFloat(f, 'g', -1, 64)` does,
//! which is what client_golang exporters write, so our output diffs cleanly
//! against theirs.

use std::io::Write as _;

use super::model::Timestamp;

/// Appends `v` in Go's shortest `%g` form; `NaN`, `+Inf` and `-Inf` for the
/// special values.
pub fn write_float(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    // Fast path: integers below 1e6 print the same in %g and as integers.
    if v.fract() == 0.0 && v.abs() < 1e6 {
        write_int(out, v as i64);
        return;
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, e.g. "1.5e-5".
    let mut buf = [0u8; 40];
    let len = {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        if write!(cursor, "{v:e}").is_err() {
            return;
        }
        cursor.position() as usize
    };
    let text = &buf[..len];
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let e_at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mantissa = &text[..e_at];
    let exp: i32 = std::str::from_utf8(text.get(e_at + 1..).unwrap_or(b"0"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut nd = 0;
    for &b in mantissa {
        if b.is_ascii_digit() && nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    let digits = &digits[..nd];
    if negative {
        out.push(b'-');
    }
    if !(-4..6).contains(&exp) {
        // %e: d[.ddd]e±XX with at least two exponent digits.
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push(b'0');
        }
        write_int(out, i64::from(abs));
    } else if exp < 0 {
        // 0.000ddd
        out.extend_from_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    }
}

/// Appends `v` as OpenMetrics prefers: like [`write_float`], but a finite
/// value without a fraction or exponent gets `.0` (`1.0`, not `1`).
pub fn write_float_canonical(out: &mut Vec<u8>, v: f64) {
    let start = out.len();
    write_float(out, v);
    if v.is_finite() && !out[start..].iter().any(|&b| b == b'.' || b == b'e') {
        out.extend_from_slice(b".0");
    }
}

/// Appends a decimal integer.
pub fn write_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_uint(out, v.unsigned_abs());
}

/// Appends a decimal unsigned integer.
pub fn write_uint(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends a timestamp as seconds with the fraction trimmed, e.g.
/// `1700000000.25` (OpenMetrics).
pub fn write_timestamp_seconds(out: &mut Vec<u8>, ts: Timestamp) {
    write_int(out, ts.seconds);
    if ts.nanos > 0 {
        let mut frac = [b'0'; 9];
        let mut n = ts.nanos;
        for slot in frac.iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let end = frac.iter().rposition(|&b| b != b'0').map_or(0, |p| p + 1);
        out.push(b'.');
        out.extend_from_slice(&frac[..end]);
    }
}

/// Appends a label value or OpenMetrics help text with `\`, `"` and newline
/// escaped.
pub fn write_escaped_value(out: &mut Vec<u8>, s: &str) {
    escape(out, s, true);
}

/// Appends text-format 0.0.4 help text: only `\` and newline are escaped.
pub fn write_escaped_help(out: &mut Vec<u8>, s: &str) {
    escape(out, s, false);
}

fn escape(out: &mut Vec<u8>, s: &str, quotes: bool) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let replacement: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quotes => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(replacement);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(v: f64) -> String {
        let mut out = Vec::new();
        write_float(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_match_go_shortest_g() {
        // Expected values are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-40.0, "-40"),
            (21.5, "21.5"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1.5e21, "1.5e+21"),
            (1e-05, "1e-05"),
            (0.0001, "0.0001"),
            (0.00011000000000000022, "0.00011000000000000022"),
            (-8.999999999999979e-05, "-8.999999999999979e-05"),
            (1.7956518121945655e+09, "1.7956518121945655e+09"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (999999.5, "999999.5"),
            (12345.678, "12345.678"),
        ];
        for &(v, want) in cases {
            assert_eq!(float(v), want, "formatting {v:e}");
        }
    }

    #[test]
    fn canonical_floats_keep_a_fraction() {
        let mut out = Vec::new();
        for v in [1.0, 0.25, 1e6, f64::INFINITY] {
            write_float_canonical(&mut out, v);
            out.push(b' ');
        }
        assert_eq!(String::from_utf8_lossy(&out), "1.0 0.25 1e+06 +Inf ");
    }

    #[test]
    fn timestamps_trim_trailing_zeros() {
        let mut out = Vec::new();
        write_timestamp_seconds(
            &mut out,
            Timestamp {
                seconds: 1_700_000_000,
                nanos: 250_000_000,
            },
        );
        out.push(b' ');
        write_timestamp_seconds(
            &mut out,
            Timestamp {
                seconds: 12,
                nanos: 0,
            },
        );
        out.push(b' ');
        write_timestamp_seconds(
            &mut out,
            Timestamp {
                seconds: 1,
                nanos: 1,
            },
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            "1700000000.25 12 1.000000001"
        );
    }

    #[test]
    fn escaping_differs_between_help_and_values() {
        let mut help = Vec::new();
        write_escaped_help(&mut help, "a \"b\" \\ c\nd");
        assert_eq!(String::from_utf8_lossy(&help), "a \"b\" \\\\ c\\nd");
        let mut value = Vec::new();
        write_escaped_value(&mut value, "a \"b\" \\ c\nd ü");
        assert_eq!(String::from_utf8_lossy(&value), "a \\\"b\\\" \\\\ c\\nd ü");
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        write_int(&mut out, i64::MIN);
        out.push(b' ');
        write_uint(&mut out, u64::MAX);
        out.push(b' ');
        write_int(&mut out, 0);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "-9223372036854775808 18446744073709551615 0"
        );
    }
}
