//! The Prometheus text format 0.0.4, read as Prometheus' own Go parser
//! (`expfmt.TextParser`, the one node_exporter's textfile collector uses)
//! reads it: the same grammar, the same grouping of `_sum`, `_count` and
//! `_bucket` lines into summaries and histograms, and the same refusals,
//! with the same messages (`text format parsing error in line N: ...`).
//!
//! Like that parser it is strict where batch jobs are often careless: a
//! last line without its newline, a blank after the value without a
//! timestamp, or an unknown escape sequence makes the whole file invalid.

mod line;

use std::collections::HashMap;
use std::fmt;

pub use line::parse_float;
use line::{
    Line, is_blank, is_label_char, is_label_start, is_name_char, is_name_start, label_value,
    quoted, unescape_help,
};

/// The type of a family, from its `# TYPE` line (untyped without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `untyped`, and families without a `# TYPE` line.
    Untyped,
    /// `summary`
    Summary,
    /// `histogram`
    Histogram,
    /// `gauge_histogram`: accepted on a `# TYPE` line, refused on a sample.
    GaugeHistogram,
}

impl Kind {
    fn from_type_line(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "COUNTER" => Kind::Counter,
            "GAUGE" => Kind::Gauge,
            "UNTYPED" => Kind::Untyped,
            "SUMMARY" => Kind::Summary,
            "HISTOGRAM" => Kind::Histogram,
            "GAUGE_HISTOGRAM" => Kind::GaugeHistogram,
            _ => return None,
        })
    }

    /// The word a `# TYPE` line uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Untyped => "untyped",
            Kind::Summary => "summary",
            Kind::Histogram => "histogram",
            Kind::GaugeHistogram => "gauge_histogram",
        }
    }
}

/// The value of one metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A counter, gauge or untyped sample.
    Simple(f64),
    /// A summary: `(quantile, value)` pairs in file order, sum and count.
    Summary {
        /// Quantiles as read.
        quantiles: Vec<(f64, f64)>,
        /// `_sum`, 0 without one.
        sum: f64,
        /// `_count`, 0 without one.
        count: u64,
    },
    /// A histogram: `(le, cumulative count)` pairs in file order, sum and
    /// count.
    Histogram {
        /// Buckets as read.
        buckets: Vec<(f64, u64)>,
        /// `_sum`, 0 without one.
        sum: f64,
        /// `_count`, 0 without one.
        count: u64,
    },
}

/// One metric (series) of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Label pairs in file order, without `quantile` or `le`.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: Value,
    /// A client-side timestamp, in milliseconds.
    pub timestamp_ms: Option<i64>,
}

/// One metric family of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Metric name.
    pub name: String,
    /// `# HELP` text, unescaped; `None` without a (non-empty) HELP line.
    pub help: Option<String>,
    /// `None` until a `# TYPE` line or the first sample.
    kind: Option<Kind>,
    /// Metrics in file order.
    pub metrics: Vec<Metric>,
}

impl Family {
    /// The family's type; untyped without a `# TYPE` line.
    pub fn kind(&self) -> Kind {
        self.kind.unwrap_or(Kind::Untyped)
    }
}

/// Why a file is not valid text format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "text format parsing error in line {}: {}",
            self.line, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// The name of a summary a `_sum` or `_count` line may belong to.
fn strip_sum_count(name: &str) -> Option<&str> {
    if name.len() > 6 && name.ends_with("_count") {
        return Some(&name[..name.len() - 6]);
    }
    if name.len() > 4 && name.ends_with("_sum") {
        return Some(&name[..name.len() - 4]);
    }
    None
}

/// The same for a histogram, which also has `_bucket` lines.
fn strip_histogram(name: &str) -> Option<&str> {
    if name.len() > 7 && name.ends_with("_bucket") {
        return Some(&name[..name.len() - 7]);
    }
    strip_sum_count(name)
}

/// What a sample line contributes to a summary or histogram.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Plain,
    Sum,
    Count,
}

/// One sample line, read.
struct Sample {
    part: Part,
    labels: Vec<(String, String)>,
    value: f64,
    quantile: Option<f64>,
    bucket: Option<f64>,
    timestamp_ms: Option<i64>,
}

/// The parser's state across lines.
#[derive(Default)]
struct Parser {
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    /// Summaries and histograms by family and sorted labels.
    grouped: HashMap<(usize, Vec<(String, String)>), usize>,
}

/// Parses a whole file. Families come in the order of their first line;
/// families left without samples are dropped.
pub fn parse(input: &[u8]) -> Result<Vec<Family>, ParseError> {
    let mut parser = Parser::default();
    let mut lines = input.split(|b| *b == b'\n').enumerate().peekable();
    while let Some((i, bytes)) = lines.next() {
        let mut line = Line {
            bytes,
            at: 0,
            number: i + 1,
        };
        line.skip_blanks();
        if line.peek().is_none() {
            continue;
        }
        if lines.peek().is_none() {
            // Text after the last newline: Go's parser runs into the end of
            // its input mid-line.
            return Err(line.error("unexpected end of input stream".into()));
        }
        if line.peek() == Some(b'#') {
            line.at += 1;
            parser.comment(&mut line)?;
        } else {
            parser.sample(&mut line)?;
        }
    }
    let Parser { families, .. } = parser;
    Ok(families
        .into_iter()
        .filter(|f| !f.metrics.is_empty())
        .collect())
}

impl Parser {
    /// The family a name belongs to, creating it if need be, and what the
    /// name's line contributes to it.
    fn family_for(&mut self, name: &str) -> (usize, Part) {
        if let Some(&i) = self.by_name.get(name) {
            return (i, Part::Plain);
        }
        let part = if name.ends_with("_count") {
            Part::Count
        } else if name.ends_with("_sum") {
            Part::Sum
        } else {
            Part::Plain
        };
        if let Some(&i) = strip_sum_count(name).and_then(|base| self.by_name.get(base))
            && self.families[i].kind == Some(Kind::Summary)
        {
            return (i, part);
        }
        if let Some(&i) = strip_histogram(name).and_then(|base| self.by_name.get(base))
            && self.families[i].kind == Some(Kind::Histogram)
        {
            return (i, part);
        }
        self.families.push(Family {
            name: name.to_owned(),
            help: None,
            kind: None,
            metrics: Vec::new(),
        });
        let i = self.families.len() - 1;
        self.by_name.insert(name.to_owned(), i);
        (i, Part::Plain)
    }

    /// `# HELP`, `# TYPE` or any other comment, after the `#`.
    fn comment(&mut self, line: &mut Line<'_>) -> Result<(), ParseError> {
        line.skip_blanks();
        let keyword = line.token();
        if line.peek().is_none() || (keyword != "HELP" && keyword != "TYPE") {
            return Ok(());
        }
        line.skip_blanks();
        if line.peek().is_none() {
            return Ok(());
        }
        let name = if line.peek().is_some_and(is_name_start) {
            line.take_while(is_name_char).to_owned()
        } else {
            String::new()
        };
        match line.peek() {
            None => return Ok(()),
            Some(b) if !is_blank(b) => {
                return Err(line.error("invalid metric name in comment".into()));
            }
            Some(_) => {}
        }
        let (index, _) = self.family_for(&name);
        line.skip_blanks();
        if line.peek().is_none() {
            return Ok(());
        }
        let family = &mut self.families[index];
        if keyword == "HELP" {
            if family.help.is_some() {
                return Err(line.error(format!(
                    "second HELP line for metric name {}",
                    quoted(&family.name)
                )));
            }
            family.help = Some(unescape_help(line)?);
        } else {
            if family.kind.is_some() {
                return Err(line.error(format!(
                    "second TYPE line for metric name {}, or TYPE reported after samples",
                    quoted(&family.name)
                )));
            }
            let word = String::from_utf8_lossy(line.rest()).into_owned();
            family.kind = Some(
                Kind::from_type_line(&word)
                    .ok_or_else(|| line.error(format!("unknown metric type {}", quoted(&word))))?,
            );
        }
        Ok(())
    }

    /// A sample line: name, labels, value and perhaps a timestamp.
    fn sample(&mut self, line: &mut Line<'_>) -> Result<(), ParseError> {
        if !line.peek().is_some_and(is_name_start) {
            return Err(line.error("invalid metric name".into()));
        }
        let name = line.take_while(is_name_char).to_owned();
        let (index, part) = self.family_for(&name);
        let kind = *self.families[index].kind.get_or_insert(Kind::Untyped);
        let family_name = self.families[index].name.clone();
        line.skip_blanks();
        let mut labels: Vec<(String, String)> = Vec::new();
        let mut quantile = None;
        let mut bucket = None;
        if line.peek() == Some(b'{') {
            line.at += 1;
            loop {
                line.skip_blanks();
                if line.peek() == Some(b'}') {
                    line.at += 1;
                    break;
                }
                let label = if line.peek().is_some_and(is_label_start) {
                    line.take_while(is_label_char).to_owned()
                } else {
                    String::new()
                };
                if label.is_empty() {
                    return Err(line.error(format!(
                        "invalid label name for metric {}",
                        quoted(&family_name)
                    )));
                }
                line.skip_blanks();
                line.expect(b'=', "expected '=' after label name")?;
                if label == "__name__" {
                    return Err(line.error("label name \"__name__\" is reserved".into()));
                }
                let special = (kind == Kind::Summary && label == "quantile")
                    || (kind == Kind::Histogram && label == "le");
                if !special && labels.iter().any(|(n, _)| *n == label) {
                    return Err(line.error(format!(
                        "duplicate label names for metric {}",
                        quoted(&family_name)
                    )));
                }
                line.skip_blanks();
                line.expect(b'"', "expected '\"' at start of label value")?;
                let value = label_value(line)?;
                if special {
                    let what = if kind == Kind::Summary {
                        "quantile"
                    } else {
                        "le"
                    };
                    let parsed = parse_float(&value).ok_or_else(|| {
                        line.error(format!(
                            "expected float as value for '{what}' label, got {}",
                            quoted(&value)
                        ))
                    })?;
                    if kind == Kind::Summary {
                        quantile = Some(parsed);
                    } else {
                        bucket = Some(parsed);
                    }
                } else {
                    labels.push((label, value));
                }
                line.skip_blanks();
                match line.peek() {
                    Some(b',') => line.at += 1,
                    Some(b'}') => {
                        line.at += 1;
                        break;
                    }
                    _ => {
                        let last = labels.last().map(|(_, v)| v.as_str()).unwrap_or("");
                        return Err(
                            line.error(format!("unexpected end of label value {}", quoted(last)))
                        );
                    }
                }
            }
            line.skip_blanks();
        }
        let token = line.token();
        let value = parse_float(&token).ok_or_else(|| {
            line.error(format!("expected float as value, got {}", quoted(&token)))
        })?;
        let timestamp_ms = if line.peek().is_some() {
            line.skip_blanks();
            let token = line.token();
            let ts: i64 = token.parse().map_err(|_| {
                line.error(format!(
                    "expected integer as timestamp, got {}",
                    quoted(&token)
                ))
            })?;
            if !line.rest().is_empty() {
                return Err(line.error(format!(
                    "spurious string after timestamp: {}",
                    quoted(&String::from_utf8_lossy(line.rest()))
                )));
            }
            Some(ts)
        } else {
            None
        };
        let sample = Sample {
            part,
            labels,
            value,
            quantile,
            bucket,
            timestamp_ms,
        };
        self.record(index, kind, sample)
            .map_err(|message| line.error(message))
    }

    /// Adds one sample to its family.
    fn record(&mut self, index: usize, kind: Kind, sample: Sample) -> Result<(), String> {
        let Sample {
            part,
            labels,
            value,
            quantile,
            bucket,
            timestamp_ms,
        } = sample;
        let family = &mut self.families[index];
        let grouped = match kind {
            Kind::Counter | Kind::Gauge | Kind::Untyped => {
                family.metrics.push(Metric {
                    labels,
                    value: Value::Simple(value),
                    timestamp_ms,
                });
                return Ok(());
            }
            Kind::GaugeHistogram => {
                return Err(format!(
                    "unexpected type for metric name {}",
                    quoted(&family.name)
                ));
            }
            Kind::Summary | Kind::Histogram => {
                let mut key = labels.clone();
                key.sort();
                *self.grouped.entry((index, key)).or_insert_with(|| {
                    family.metrics.push(Metric {
                        labels,
                        value: if kind == Kind::Summary {
                            Value::Summary {
                                quantiles: Vec::new(),
                                sum: 0.0,
                                count: 0,
                            }
                        } else {
                            Value::Histogram {
                                buckets: Vec::new(),
                                sum: 0.0,
                                count: 0,
                            }
                        },
                        timestamp_ms: None,
                    });
                    family.metrics.len() - 1
                })
            }
        };
        let metric = &mut family.metrics[grouped];
        if timestamp_ms.is_some() {
            metric.timestamp_ms = timestamp_ms;
        }
        // Go converts a float count with uint64(v): saturating here.
        let as_count = value as u64;
        match &mut metric.value {
            Value::Summary {
                quantiles,
                sum,
                count,
            } => match (part, quantile) {
                (Part::Count, _) => *count = as_count,
                (Part::Sum, _) => *sum = value,
                (Part::Plain, Some(q)) => quantiles.push((q, value)),
                (Part::Plain, None) => {}
            },
            Value::Histogram {
                buckets,
                sum,
                count,
            } => match (part, bucket) {
                (Part::Count, _) => *count = as_count,
                (Part::Sum, _) => *sum = value,
                (Part::Plain, Some(le)) => buckets.push((le, as_count)),
                (Part::Plain, None) => {}
            },
            Value::Simple(_) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
