//! A CSV reader with the semantics haproxy_exporter gets from Go's
//! `encoding/csv` (comment lines, RFC 4180 quoting, CRLF, a fixed field
//! count set by the first record), without allocating or dropping anything
//! per field.

/// Why a record was rejected. The reader resumes at the next line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// A `"` inside an unquoted field.
    BareQuote {
        /// 1-based line number.
        line: usize,
    },
    /// A quoted field without its closing quote.
    UnterminatedQuote {
        /// 1-based line number.
        line: usize,
    },
    /// A record with another field count than the first record's.
    FieldCount {
        /// 1-based line number.
        line: usize,
        /// Fields found.
        got: usize,
        /// Fields of the first record.
        want: usize,
    },
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::BareQuote { line } => {
                write!(f, "line {line}: bare \" in non-quoted field")
            }
            RecordError::UnterminatedQuote { line } => {
                write!(f, "line {line}: extraneous or missing \" in quoted field")
            }
            RecordError::FieldCount { line, got, want } => {
                write!(
                    f,
                    "line {line}: wrong number of fields ({got}, expected {want})"
                )
            }
        }
    }
}

/// One field: a slice of the input, or an unescaped copy when it was quoted
/// with `""` inside.
pub type Field<'a> = std::borrow::Cow<'a, str>;

/// One record's fields. Each is a slice of the input; the rare field that
/// had to be unescaped (quoted with `""` inside, or over several lines) is
/// kept beside them. So the slices need no destructor, and starting the
/// next record drops nothing per field: with `Cow` fields that was a call
/// per field, 4 % of a 500×10 scrape.
#[derive(Debug, Default)]
pub struct Record<'a> {
    fields: Vec<&'a str>,
    /// The unescaped fields, by position; their slot in `fields` is empty.
    unescaped: Vec<(usize, String)>,
}

impl<'a> Record<'a> {
    /// An empty record with room for `fields` fields.
    pub fn with_capacity(fields: usize) -> Self {
        Record {
            fields: Vec::with_capacity(fields),
            unescaped: Vec::new(),
        }
    }

    /// How many fields the record has.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Field `i`'s text. Inlined: at the plugins' `opt-level = "s"` it
    /// was a call per field.
    #[inline(always)]
    pub fn get(&self, i: usize) -> Option<&str> {
        let plain = *self.fields.get(i)?;
        if self.unescaped.is_empty() {
            return Some(plain);
        }
        Some(self.unescaped(i).unwrap_or(plain))
    }

    /// Field `i`, borrowed from the input unless it had to be unescaped.
    pub fn field(&self, i: usize) -> Option<Field<'a>> {
        let plain = *self.fields.get(i)?;
        Some(match self.unescaped(i) {
            Some(text) => Field::Owned(text.to_owned()),
            None => Field::Borrowed(plain),
        })
    }

    fn unescaped(&self, i: usize) -> Option<&str> {
        self.unescaped
            .iter()
            .find(|(at, _)| *at == i)
            .map(|(_, text)| text.as_str())
    }

    fn clear(&mut self) {
        self.fields.clear();
        self.unescaped.clear();
    }

    fn push(&mut self, field: Field<'a>) {
        match field {
            Field::Borrowed(text) => self.fields.push(text),
            Field::Owned(text) => {
                self.unescaped.push((self.fields.len(), text));
                self.fields.push("");
            }
        }
    }
}

/// Reads records from `input`.
pub struct Reader<'a> {
    input: &'a str,
    pos: usize,
    line: usize,
    fields_per_record: Option<usize>,
    /// The last comment line seen before the first record (HAProxy's
    /// `# pxname,svname,...` header), without the `#`.
    pub header: Option<&'a str>,
}

impl<'a> Reader<'a> {
    /// A reader over `input`.
    pub fn new(input: &'a str) -> Self {
        Reader {
            input,
            pos: 0,
            line: 0,
            fields_per_record: None,
            header: None,
        }
    }

    /// The next line without its terminator, or `None` at the end.
    fn next_line(&mut self) -> Option<&'a str> {
        if self.pos >= self.input.len() {
            return None;
        }
        let rest = &self.input[self.pos..];
        let (line, advance) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        self.line += 1;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    /// Reads the next record into `fields`. Returns `None` at the end of
    /// the input, `Some(Err)` for a record to count as a failure and skip.
    pub fn read(&mut self, fields: &mut Record<'a>) -> Option<Result<(), RecordError>> {
        fields.clear();
        let line = loop {
            let line = self.next_line()?;
            if let Some(comment) = line.strip_prefix('#') {
                if self.fields_per_record.is_none() {
                    self.header = Some(comment.trim());
                }
                continue;
            }
            if !line.is_empty() {
                break line;
            }
        };
        let start_line = self.line;
        if let Err(e) = self.split(line, start_line, fields) {
            return Some(Err(e));
        }
        let want = *self.fields_per_record.get_or_insert(fields.len());
        if fields.len() != want {
            return Some(Err(RecordError::FieldCount {
                line: start_line,
                got: fields.len(),
                want,
            }));
        }
        Some(Ok(()))
    }

    fn split(
        &mut self,
        line: &'a str,
        line_no: usize,
        fields: &mut Record<'a>,
    ) -> Result<(), RecordError> {
        let mut rest = line;
        loop {
            // Bytes compared, not `strip_prefix`: at the plugins' size
            // optimisation that is a call to `memcmp` for every field.
            if rest.as_bytes().first() == Some(&b'"') {
                let (field, after) = self.quoted(&rest[1..], line_no)?;
                fields.push(field);
                match after.strip_prefix(',') {
                    Some(r) => rest = r,
                    None if after.is_empty() => return Ok(()),
                    None => return Err(RecordError::UnterminatedQuote { line: line_no }),
                }
            } else {
                // One pass to the comma, looking for a quote on the way:
                // HAProxy's fields are short, and a search per field (two
                // with the quote's) cost more in setting up than scanning.
                let bytes = rest.as_bytes();
                let mut end = 0;
                while let Some(&b) = bytes.get(end) {
                    match b {
                        b',' => break,
                        b'"' => return Err(RecordError::BareQuote { line: line_no }),
                        _ => end += 1,
                    }
                }
                // `,` is ASCII, so `end` is a character boundary.
                fields.fields.push(&rest[..end]);
                if end == rest.len() {
                    return Ok(());
                }
                rest = &rest[end + 1..];
            }
        }
    }

    /// A quoted field starting after its opening quote; may span lines.
    fn quoted(
        &mut self,
        mut text: &'a str,
        line_no: usize,
    ) -> Result<(Field<'a>, &'a str), RecordError> {
        let mut owned: Option<String> = None;
        loop {
            match text.find('"') {
                Some(i) if text[i + 1..].starts_with('"') => {
                    let buf = owned.get_or_insert_with(String::new);
                    buf.push_str(&text[..=i]);
                    text = &text[i + 2..];
                }
                Some(i) => {
                    let after = &text[i + 1..];
                    let field = match owned {
                        Some(mut buf) => {
                            buf.push_str(&text[..i]);
                            Field::Owned(buf)
                        }
                        None => Field::Borrowed(&text[..i]),
                    };
                    return Ok((field, after));
                }
                None => {
                    // The field goes on over the next line.
                    let buf = owned.get_or_insert_with(String::new);
                    buf.push_str(text);
                    buf.push('\n');
                    text = self
                        .next_line()
                        .ok_or(RecordError::UnterminatedQuote { line: line_no })?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> Vec<Result<Vec<String>, RecordError>> {
        let mut r = Reader::new(input);
        let mut fields = Record::default();
        let mut out = Vec::new();
        while let Some(res) = r.read(&mut fields) {
            out.push(res.map(|()| {
                (0..fields.len())
                    .map(|i| {
                        let text = fields.get(i).unwrap();
                        assert_eq!(fields.field(i).unwrap(), text, "field {i}");
                        text.to_owned()
                    })
                    .collect()
            }));
        }
        out
    }

    #[test]
    fn plain_records_comments_and_crlf() {
        let out = records("# h1,h2\r\na,b\r\n\r\nc,d\n");
        assert_eq!(
            out,
            vec![
                Ok(vec!["a".into(), "b".into()]),
                Ok(vec!["c".into(), "d".into()])
            ]
        );
        let mut r = Reader::new("# pxname,svname\nx,y\n");
        let mut f = Record::default();
        assert_eq!(r.read(&mut f), Some(Ok(())));
        assert_eq!(r.header, Some("pxname,svname"));
    }

    #[test]
    fn quotes() {
        let out = records("\"a,b\",\"say \"\"hi\"\"\",c\n\"multi\nline\",x,y\n");
        assert_eq!(
            out[0],
            Ok(vec!["a,b".into(), "say \"hi\"".into(), "c".into()])
        );
        assert_eq!(
            out[1],
            Ok(vec!["multi\nline".into(), "x".into(), "y".into()])
        );
    }

    #[test]
    fn errors_skip_one_record() {
        let out = records("a,b,c\nd,e\"x,f\ng,h,i\nj,k\n\"open,l,m\n");
        assert_eq!(out[0], Ok(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(out[1], Err(RecordError::BareQuote { line: 2 }));
        assert_eq!(out[2], Ok(vec!["g".into(), "h".into(), "i".into()]));
        assert_eq!(
            out[3],
            Err(RecordError::FieldCount {
                line: 4,
                got: 2,
                want: 3
            })
        );
        assert!(matches!(out[4], Err(RecordError::UnterminatedQuote { .. })));
    }

    #[test]
    fn trailing_comma_is_an_empty_field() {
        assert_eq!(
            records("a,b,\n"),
            vec![Ok(vec!["a".into(), "b".into(), String::new()])]
        );
    }
}
