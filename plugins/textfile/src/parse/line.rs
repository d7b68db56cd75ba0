//! Reading one line of the text format, byte by byte as Go's parser does:
//! character classes, floats, quoted values and escapes, and the error
//! messages' quoting.

use super::ParseError;

pub(super) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(super) fn is_label_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

pub(super) fn is_label_char(b: u8) -> bool {
    is_label_start(b) || b.is_ascii_digit()
}

pub(super) fn is_name_start(b: u8) -> bool {
    is_label_start(b) || b == b':'
}

pub(super) fn is_name_char(b: u8) -> bool {
    is_label_char(b) || b == b':'
}

/// Go's `strconv.ParseFloat` as the parser uses it: decimal notation,
/// `Inf`, `Infinity` and `NaN` in any case with an optional sign; no hex,
/// no underscores, and nothing out of range.
pub fn parse_float(s: &str) -> Option<f64> {
    if s.contains(['p', 'P', '_']) || s.is_empty() {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    let literal_inf = s
        .trim_start_matches(['+', '-'])
        .to_ascii_lowercase()
        .starts_with("inf");
    if v.is_infinite() && !literal_inf {
        return None; // 1e400: Go reports a range error
    }
    Some(v)
}

/// Go's `%q` of a string, near enough for error messages.
pub(super) fn quoted(s: &str) -> String {
    format!("{s:?}")
}

/// Go's `%q` of a byte.
fn quoted_byte(b: u8) -> String {
    format!("{:?}", b as char)
}

/// One line being read.
pub(super) struct Line<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) at: usize,
    pub(super) number: usize,
}

impl Line<'_> {
    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    pub(super) fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.at += 1;
        }
    }

    pub(super) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &str {
        let start = self.at;
        while self.peek().is_some_and(&f) {
            self.at += 1;
        }
        // Only ASCII predicates are used with take_while on names; other
        // runs are checked by the caller.
        std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or("")
    }

    /// The bytes up to the next blank or the end, lossily as text.
    pub(super) fn token(&mut self) -> String {
        let start = self.at;
        while self.peek().is_some_and(|b| !is_blank(b)) {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned()
    }

    /// Steps over `want`, or fails with `what` and the byte found instead.
    pub(super) fn expect(&mut self, want: u8, what: &str) -> Result<(), ParseError> {
        match self.peek() {
            Some(b) if b == want => {
                self.at += 1;
                Ok(())
            }
            Some(b) => Err(self.error(format!("{what}, found {}", quoted_byte(b)))),
            None => Err(self.error("unexpected end of input stream".into())),
        }
    }

    pub(super) fn rest(&self) -> &[u8] {
        &self.bytes[self.at..]
    }

    pub(super) fn error(&self, message: String) -> ParseError {
        ParseError {
            line: self.number,
            message,
        }
    }
}

/// The byte an escape sequence `\\b` stands for: `\\`, `"` or a newline;
/// Go's parser knows no others, in HELP text or label values.
pub(super) fn unescape(line: &Line<'_>, b: u8) -> Result<u8, ParseError> {
    match b {
        b'\\' | b'"' => Ok(b),
        b'n' => Ok(b'\n'),
        other => Err(line.error(format!("invalid escape sequence '\\{}'", other as char))),
    }
}

/// A HELP text: the rest of the line with `\\`, `\n` and `\"` unescaped.
pub(super) fn unescape_help(line: &mut Line<'_>) -> Result<String, ParseError> {
    let mut out = Vec::with_capacity(line.rest().len());
    let mut escaped = false;
    for &b in line.rest() {
        if escaped {
            out.push(unescape(line, b)?);
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else {
            out.push(b);
        }
    }
    if escaped {
        return Err(line.error("invalid escape sequence '\\\n'".into()));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A quoted label value, after its opening quote, with `\"`, `\\` and `\n`
/// unescaped; it must be valid UTF-8.
pub(super) fn label_value(line: &mut Line<'_>) -> Result<String, ParseError> {
    let mut out = Vec::new();
    let mut escaped = false;
    loop {
        let Some(b) = line.peek() else {
            let so_far = String::from_utf8_lossy(&out).into_owned();
            return Err(line.error(format!(
                "label value {} contains unescaped new-line",
                quoted(&so_far)
            )));
        };
        line.at += 1;
        if escaped {
            out.push(unescape(line, b)?);
            escaped = false;
            continue;
        }
        match b {
            b'"' => break,
            b'\\' => escaped = true,
            other => out.push(other),
        }
    }
    String::from_utf8(out).map_err(|e| {
        line.error(format!(
            "invalid label value {}",
            quoted(&String::from_utf8_lossy(e.as_bytes()))
        ))
    })
}
