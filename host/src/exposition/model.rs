//! The validated, format-neutral data model that the encoders write.
//!
//! It mirrors the WIT contract's `types` interface but owes nothing to
//! wasmtime: plugins' output is converted into it, and the host's own metrics
//! are built in it directly.

use std::sync::Arc;
/// A point in time: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    /// Whole seconds; negative before 1970.
    pub seconds: i64,
    /// Nanoseconds past `seconds`, below 1e9.
    pub nanos: u32,
}

impl Timestamp {
    /// Milliseconds since the epoch, as text format 0.0.4 writes them.
    pub fn as_millis(&self) -> i64 {
        self.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(self.nanos / 1_000_000))
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timestamp {
                seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: d.subsec_nanos(),
            },
            Err(_) => Timestamp {
                seconds: 0,
                nanos: 0,
            },
        }
    }
}

/// One label of an exemplar.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Label name.
    pub name: String,
    /// Label value.
    pub value: String,
}

/// An exemplar attached to a counter or a histogram bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// The exemplar's labels, such as a trace id.
    pub labels: Vec<Label>,
    /// The observed value.
    pub value: f64,
    /// When it was observed.
    pub timestamp: Option<Timestamp>,
}

/// The type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Monotonic total.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Untyped.
    Unknown,
    /// Classic histogram with cumulative buckets.
    Histogram,
    /// Histogram of a current distribution (OpenMetrics `gaugehistogram`).
    GaugeHistogram,
    /// Precomputed quantiles.
    Summary,
    /// Information carried by labels; value 1.
    Info,
    /// A set of boolean states.
    Stateset,
}

impl Kind {
    /// The name OpenMetrics uses in `# TYPE`.
    pub fn openmetrics_name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Unknown => "unknown",
            Kind::Histogram => "histogram",
            Kind::GaugeHistogram => "gaugehistogram",
            Kind::Summary => "summary",
            Kind::Info => "info",
            Kind::Stateset => "stateset",
        }
    }
}

/// One histogram bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Inclusive upper bound.
    pub upper_bound: f64,
    /// Observations up to `upper_bound`, cumulative.
    pub cumulative_count: u64,
    /// The bucket's latest exemplar.
    pub exemplar: Option<Exemplar>,
}

/// Value of a histogram or gauge-histogram series: classic buckets, native
/// ones, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Sorted buckets ending with `+Inf`; empty for a native histogram
    /// without classic buckets.
    pub buckets: Vec<Bucket>,
    /// Sum of observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
    /// The native (sparse, exponential) buckets, if any.
    pub native: Option<Box<Native>>,
}

/// The native part of a histogram. Buckets are kept as the plugin gives
/// them, `(index, count)` sorted by index; the protobuf encoder turns them
/// into spans and deltas.
#[derive(Debug, Clone, PartialEq)]
pub struct Native {
    /// Resolution, -4..=8.
    pub schema: i8,
    /// Width of the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Buckets below zero.
    pub negative: Vec<NativeBucket>,
    /// Buckets above zero.
    pub positive: Vec<NativeBucket>,
    /// Example observations, each with a timestamp.
    pub exemplars: Vec<Exemplar>,
}

impl Histogram {
    /// `(upper bound, cumulative count)` of the classic buckets as text
    /// formats show them: the plugin's, or for a native histogram without
    /// any, the `+Inf` bucket holding the count.
    pub fn classic_buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let inf = self
            .buckets
            .is_empty()
            .then_some((f64::INFINITY, self.count));
        self.buckets
            .iter()
            .map(|b| (b.upper_bound, b.cumulative_count))
            .chain(inf)
    }
}

/// One native bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeBucket {
    /// The bucket's index.
    pub index: i32,
    /// Observations in it.
    pub count: u64,
}

/// One quantile of a summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantile {
    /// The quantile, in [0, 1].
    pub quantile: f64,
    /// Its value.
    pub value: f64,
}

/// Value of a summary series.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Sorted quantiles.
    pub quantiles: Vec<Quantile>,
    /// Sum of observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

/// One state of a stateset.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// State name.
    pub name: String,
    /// Whether the state is set.
    pub enabled: bool,
}

/// The value of one series, typed by kind. What is larger than a number
/// is boxed, so that the many series of counters and gauges stay small
/// (a [`Series`] is moved when its family is ordered).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A counter's total and optional exemplar.
    Counter {
        /// The total.
        total: f64,
        /// The latest exemplar.
        exemplar: Option<Box<Exemplar>>,
    },
    /// A gauge value.
    Gauge(f64),
    /// An untyped value.
    Unknown(f64),
    /// A histogram.
    Histogram(Box<Histogram>),
    /// A gauge histogram.
    GaugeHistogram(Box<Histogram>),
    /// A summary.
    Summary(Box<Summary>),
    /// An info series (value 1).
    Info,
    /// A stateset.
    Stateset(Box<[State]>),
}

impl Value {
    /// The kind this value belongs to.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Counter { .. } => Kind::Counter,
            Value::Gauge(_) => Kind::Gauge,
            Value::Unknown(_) => Kind::Unknown,
            Value::Histogram(_) => Kind::Histogram,
            Value::GaugeHistogram(_) => Kind::GaugeHistogram,
            Value::Summary(_) => Kind::Summary,
            Value::Info => Kind::Info,
            Value::Stateset(_) => Kind::Stateset,
        }
    }
}

/// A label value. Shared: a plugin sends each distinct value once per
/// collect, and every series that uses it points at the same string.
pub type LabelValue = Arc<str>;

/// A series' label values: its row of a table that holds the rows of a
/// whole family, in one block. Validation gives every family whose series
/// have the same label values (the same indices into the collection's
/// string table) the same table, so that a series costs one count on a
/// reference its family's series all share, not an allocation and a count
/// per value on strings all over the heap. A HAProxy scrape has some
/// sixty families about its servers, each with a series per server of the
/// same `backend` and `server`. No labels, no table.
#[derive(Clone, Default)]
pub struct LabelValues {
    table: Option<Arc<[LabelValue]>>,
    /// Where the row starts in the table.
    start: u32,
    /// How many values it has.
    len: u32,
}

impl LabelValues {
    /// No label values.
    pub const fn new() -> Self {
        LabelValues {
            table: None,
            start: 0,
            len: 0,
        }
    }

    /// The rows of `width` values each that `table` holds back to back, in
    /// order; none if `width` is 0.
    pub fn rows(table: Arc<[LabelValue]>, width: usize) -> impl Iterator<Item = LabelValues> {
        let rows = table.len().checked_div(width).unwrap_or(0);
        (0..rows).map(move |i| LabelValues {
            table: Some(Arc::clone(&table)),
            start: u32::try_from(i * width).unwrap_or(u32::MAX),
            len: u32::try_from(width).unwrap_or(u32::MAX),
        })
    }

    /// The values, in the order of the family's label names.
    pub fn as_slice(&self) -> &[LabelValue] {
        let (start, len) = (self.start as usize, self.len as usize);
        self.table
            .as_deref()
            .and_then(|t| t.get(start..start + len))
            .unwrap_or(&[])
    }

    /// The values, to change: a table of this series' own first, if its
    /// table holds other rows or is shared.
    pub fn make_mut(&mut self) -> &mut [LabelValue] {
        let whole = self.as_slice().len() == self.table.as_ref().map_or(0, |t| t.len());
        if !whole {
            *self = self.as_slice().iter().cloned().collect();
        }
        match &mut self.table {
            Some(table) => Arc::make_mut(table),
            None => &mut [],
        }
    }
}

impl PartialEq for LabelValues {
    fn eq(&self, other: &LabelValues) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl std::ops::Deref for LabelValues {
    type Target = [LabelValue];

    fn deref(&self) -> &[LabelValue] {
        self.as_slice()
    }
}

impl std::fmt::Debug for LabelValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl FromIterator<LabelValue> for LabelValues {
    fn from_iter<I: IntoIterator<Item = LabelValue>>(values: I) -> Self {
        let table: Arc<[LabelValue]> = values.into_iter().collect();
        let len = table.len();
        LabelValues::rows(table, len).next().unwrap_or_default()
    }
}

impl<'a> IntoIterator for &'a LabelValues {
    type Item = &'a LabelValue;
    type IntoIter = std::slice::Iter<'a, LabelValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

/// Orders series by label values, as the output is sorted. Values from
/// one plugin share their strings, so equal ones are usually the same
/// pointer and need no byte comparison.
pub fn cmp_label_values(a: &[LabelValue], b: &[LabelValue]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if Arc::ptr_eq(x, y) {
            continue;
        }
        match x.cmp(y) {
            std::cmp::Ordering::Equal => {}
            other => return other,
        }
    }
    a.len().cmp(&b.len())
}

/// One series of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Values of the family's label names, in the same order.
    pub label_values: LabelValues,
    /// The value.
    pub value: Value,
    /// Its timestamps, boxed: most series have none, and every series is
    /// moved, read and dropped on every scrape (two inline `Option`s were
    /// 48 of a series' 112 bytes).
    pub times: Option<Box<Times>>,
}

/// A series' timestamps, when it has either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Times {
    /// When the value was observed.
    pub timestamp: Option<Timestamp>,
    /// When the series started (OpenMetrics `_created`).
    pub created: Option<Timestamp>,
}

impl Times {
    /// `timestamp` and `created`, boxed; `None` when both are.
    pub fn boxed(timestamp: Option<Timestamp>, created: Option<Timestamp>) -> Option<Box<Times>> {
        (timestamp.is_some() || created.is_some()).then(|| Box::new(Times { timestamp, created }))
    }
}

impl Series {
    /// When the value was observed.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.times.as_ref().and_then(|t| t.timestamp)
    }

    /// When the series started (OpenMetrics `_created`).
    pub fn created(&self) -> Option<Timestamp> {
        self.times.as_ref().and_then(|t| t.created)
    }

    /// Sets when the value was observed.
    pub fn set_timestamp(&mut self, timestamp: Option<Timestamp>) {
        self.times = Times::boxed(timestamp, self.created());
    }

    /// Sets when the series started.
    pub fn set_created(&mut self, created: Option<Timestamp>) {
        self.times = Times::boxed(self.timestamp(), created);
    }
}

/// A metric family.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Metric name (for counters, with `_total` as in text format 0.0.4).
    pub name: String,
    /// Help text, unescaped.
    pub help: String,
    /// Unit, or empty.
    pub unit: String,
    /// Type.
    pub kind: Kind,
    /// Label names, given once for every series.
    pub label_names: Vec<String>,
    /// The series. Shared, so that scrapes served from one collect (and
    /// the merge) pass them around without copying; [`Arc::make_mut`] gives
    /// a private copy only when a shared list must change.
    pub series: Arc<Vec<Series>>,
}

impl Family {
    /// An empty family.
    pub fn new(kind: Kind, name: impl Into<String>, help: impl Into<String>) -> Self {
        Family {
            name: name.into(),
            help: help.into(),
            unit: String::new(),
            kind,
            label_names: Vec::new(),
            series: Arc::default(),
        }
    }

    /// Sets the label names.
    pub fn with_labels(mut self, names: &[&str]) -> Self {
        self.label_names = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Sets the unit.
    pub fn with_unit(mut self, unit: &str) -> Self {
        self.unit = unit.to_owned();
        self
    }

    /// Adds a series without timestamps.
    pub fn push(&mut self, label_values: Vec<String>, value: Value) {
        self.push_values(
            label_values.into_iter().map(LabelValue::from).collect(),
            value,
        );
    }

    /// Adds a series without timestamps, of label values already shared
    /// (one string for a value many series have).
    pub fn push_values(&mut self, label_values: LabelValues, value: Value) {
        Arc::make_mut(&mut self.series).push(Series {
            label_values,
            value,
            times: None,
        });
    }

    /// The name OpenMetrics uses for the family in `# TYPE`, `# HELP` and
    /// `# UNIT`: without `_total` for counters and `_info` for info.
    pub fn openmetrics_name(&self) -> &str {
        let suffix = match self.kind {
            Kind::Counter => "_total",
            Kind::Info => "_info",
            _ => return &self.name,
        };
        self.name.strip_suffix(suffix).unwrap_or(&self.name)
    }

    /// What this family's samples and metadata append to its
    /// [`openmetrics_name`](Self::openmetrics_name) besides nothing, in
    /// either format. Each starts with `_`.
    pub fn sample_suffixes(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Counter => &["_total", "_created"],
            Kind::Info => &["_info"],
            Kind::Histogram => &["_bucket", "_sum", "_count", "_created"],
            Kind::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            Kind::Summary => &["_sum", "_count", "_created"],
            Kind::Gauge | Kind::Unknown | Kind::Stateset => &[],
        }
    }

    /// Every name this family's samples or metadata take in either format:
    /// its OpenMetrics name, alone and with each of its
    /// [`sample_suffixes`](Self::sample_suffixes). Two families whose sets
    /// overlap would clash in the output.
    pub fn reserved_names(&self) -> Vec<String> {
        let base = self.openmetrics_name();
        std::iter::once(base.to_owned())
            .chain(self.sample_suffixes().iter().map(|s| [base, s].concat()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_changed_is_copied_out_of_its_shared_table() {
        let table: Arc<[LabelValue]> = ["a", "b", "c", "d"].map(LabelValue::from).into();
        let rows: Vec<LabelValues> = LabelValues::rows(Arc::clone(&table), 2).collect();
        let (mut first, second) = (rows[0].clone(), rows[1].clone());
        assert_eq!(second.as_slice(), &table[2..]);
        first.make_mut()[1] = LabelValue::from("B");
        assert_eq!(&*first, &[LabelValue::from("a"), LabelValue::from("B")][..]);
        assert_eq!(&*rows[0], &table[..2], "the table itself is unchanged");
        assert_eq!(
            &*table,
            &rows
                .iter()
                .flat_map(|r| r.iter().cloned())
                .collect::<Vec<_>>()[..]
        );
        assert!(LabelValues::new().is_empty());
        assert!(std::iter::empty().collect::<LabelValues>().is_empty());
        assert_eq!(LabelValues::rows(table, 0).count(), 0);
    }
}
