//! Builders for families and series, so that a collector reads like the
//! exposition it produces.

use crate::strings;
use crate::{
    Bucket, CounterValue, Exemplar, HistogramValue, Label, MetricFamily, MetricKind,
    NativeHistogramValue, Quantile, SampleValue, Series, State, SummaryValue, Timestamp,
};

/// Config type for a plugin that takes no configuration: accepts `{}` (or no
/// `config:` section) and rejects any key.
#[derive(Debug, Default, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// Anything that can be the label values of one series: `()` for none,
/// arrays, slices and vectors of `&str` or `String`. Values are interned
/// ([`crate::strings`]), so passing `&str` allocates nothing per series.
pub trait IntoLabelValues {
    /// Appends the values' indices, in the order of the family's label
    /// names.
    fn push_indices(self, out: &mut Vec<u32>);
}

impl IntoLabelValues for () {
    fn push_indices(self, _out: &mut Vec<u32>) {}
}

impl<S: AsRef<str>> IntoLabelValues for &[S] {
    fn push_indices(self, out: &mut Vec<u32>) {
        out.extend(self.iter().map(|s| strings::intern(s.as_ref())));
    }
}

impl<S: AsRef<str>, const N: usize> IntoLabelValues for [S; N] {
    fn push_indices(self, out: &mut Vec<u32>) {
        out.extend(self.iter().map(|s| strings::intern(s.as_ref())));
    }
}

impl<S: AsRef<str>> IntoLabelValues for Vec<S> {
    fn push_indices(self, out: &mut Vec<u32>) {
        out.extend(self.iter().map(|s| strings::intern(s.as_ref())));
    }
}

// Inlined into the builder's loop: at the plugins' size optimisation these
// stayed calls per series, through an iterator adapter.
impl IntoLabelValues for &[strings::Interned] {
    #[inline]
    fn push_indices(self, out: &mut Vec<u32>) {
        out.reserve(self.len());
        for v in self {
            out.push(v.index());
        }
    }
}

impl<const N: usize> IntoLabelValues for [strings::Interned; N] {
    #[inline]
    fn push_indices(self, out: &mut Vec<u32>) {
        self.as_slice().push_indices(out);
    }
}

impl MetricFamily {
    /// An empty family of `kind`, without unit or labels.
    pub fn new(kind: MetricKind, name: impl Into<String>, help: impl Into<String>) -> Self {
        MetricFamily {
            name: name.into(),
            help: help.into(),
            unit: String::new(),
            kind,
            label_names: Vec::new(),
            label_values: Vec::new(),
            series: Vec::new(),
            native_histograms: Vec::new(),
        }
    }

    /// An empty counter family. Name it with the `_total` suffix.
    pub fn counter(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricKind::Counter, name, help)
    }

    /// An empty gauge family.
    pub fn gauge(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricKind::Gauge, name, help)
    }

    /// An empty family of unknown type (`untyped` in text format 0.0.4).
    pub fn unknown(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricKind::Unknown, name, help)
    }

    /// An empty histogram family.
    pub fn histogram(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricKind::Histogram, name, help)
    }

    /// An empty gauge-histogram family.
    pub fn gauge_histogram(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricKind::GaugeHistogram, name, help)
    }

    /// An empty summary family.
    pub fn summary(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricKind::Summary, name, help)
    }

    /// An empty info family. Name it with the `_info` suffix.
    pub fn info(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricKind::Info, name, help)
    }

    /// An empty stateset family.
    pub fn stateset(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricKind::Stateset, name, help)
    }

    /// Sets the unit (`seconds`, `bytes`, ...). The name must end in
    /// `_<unit>`.
    pub fn with_unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = unit.into();
        self
    }

    /// Sets the label names, given once for all series.
    pub fn with_labels<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.label_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a series and returns it, to set a timestamp or `created`.
    #[inline]
    pub fn add(&mut self, labels: impl IntoLabelValues, value: SampleValue) -> &mut Series {
        let index = self.series.len();
        labels.push_indices(&mut self.label_values);
        self.series.push(Series {
            value,
            timestamp: None,
            created: None,
        });
        &mut self.series[index]
    }

    /// The label values of series `index`, resolved (for tests).
    pub fn series_labels(&self, index: usize) -> Vec<String> {
        let n = self.label_names.len();
        self.label_values
            .get(index * n..(index + 1) * n)
            .unwrap_or(&[])
            .iter()
            .map(|i| strings::resolve(*i).unwrap_or_default())
            .collect()
    }

    /// Adds a counter series.
    #[inline]
    pub fn add_counter(&mut self, labels: impl IntoLabelValues, total: f64) -> &mut Series {
        self.add(
            labels,
            SampleValue::Counter(CounterValue {
                total,
                exemplar: None,
            }),
        )
    }

    /// Adds a gauge series.
    #[inline]
    pub fn add_gauge(&mut self, labels: impl IntoLabelValues, value: f64) -> &mut Series {
        self.add(labels, SampleValue::Gauge(value))
    }

    /// Adds a series of unknown type.
    pub fn add_unknown(&mut self, labels: impl IntoLabelValues, value: f64) -> &mut Series {
        self.add(labels, SampleValue::Unknown(value))
    }

    /// Adds a histogram series.
    pub fn add_histogram(
        &mut self,
        labels: impl IntoLabelValues,
        value: HistogramValue,
    ) -> &mut Series {
        self.add(labels, SampleValue::Histogram(value))
    }

    /// Adds a gauge-histogram series.
    pub fn add_gauge_histogram(
        &mut self,
        labels: impl IntoLabelValues,
        value: HistogramValue,
    ) -> &mut Series {
        self.add(labels, SampleValue::GaugeHistogram(value))
    }

    /// Adds a native histogram series (a family of kind histogram); see
    /// [`crate::NativeHistogram`] for one that observes values.
    pub fn add_native_histogram(
        &mut self,
        labels: impl IntoLabelValues,
        value: NativeHistogramValue,
    ) -> &mut Series {
        let index = self.push_native(value);
        self.add(labels, SampleValue::NativeHistogram(index))
    }

    /// Adds a native gauge-histogram series (a family of kind
    /// gauge-histogram).
    pub fn add_native_gauge_histogram(
        &mut self,
        labels: impl IntoLabelValues,
        value: NativeHistogramValue,
    ) -> &mut Series {
        let index = self.push_native(value);
        self.add(labels, SampleValue::NativeGaugeHistogram(index))
    }

    /// Keeps a native histogram's value in the family's list; its index.
    fn push_native(&mut self, value: NativeHistogramValue) -> u32 {
        self.native_histograms.push(value);
        u32::try_from(self.native_histograms.len() - 1).unwrap_or(u32::MAX)
    }

    /// The value of a native histogram series (`None` for other kinds, or
    /// an index outside the family's list).
    pub fn native_value(&self, value: &SampleValue) -> Option<&NativeHistogramValue> {
        match value {
            SampleValue::NativeHistogram(i) | SampleValue::NativeGaugeHistogram(i) => {
                self.native_histograms.get(*i as usize)
            }
            _ => None,
        }
    }

    /// Adds a summary series.
    pub fn add_summary(
        &mut self,
        labels: impl IntoLabelValues,
        value: SummaryValue,
    ) -> &mut Series {
        self.add(labels, SampleValue::Summary(value))
    }

    /// Adds an info series; its labels carry the information.
    pub fn add_info(&mut self, labels: impl IntoLabelValues) -> &mut Series {
        self.add(labels, SampleValue::Info)
    }

    /// Adds a stateset series from `(state, enabled)` pairs.
    pub fn add_stateset<I, S>(&mut self, labels: impl IntoLabelValues, states: I) -> &mut Series
    where
        I: IntoIterator<Item = (S, bool)>,
        S: Into<String>,
    {
        let states = states
            .into_iter()
            .map(|(name, enabled)| State {
                name: name.into(),
                enabled,
            })
            .collect();
        self.add(labels, SampleValue::Stateset(states))
    }
}

impl Series {
    /// Sets the time the value was observed.
    pub fn with_timestamp(&mut self, timestamp: Timestamp) -> &mut Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Sets when the series started counting (OpenMetrics `_created`).
    pub fn with_created(&mut self, created: Timestamp) -> &mut Self {
        self.created = Some(created);
        self
    }

    /// Sets the exemplar of a counter series; other kinds ignore it.
    pub fn with_exemplar(&mut self, exemplar: Exemplar) -> &mut Self {
        if let SampleValue::Counter(counter) = &mut self.value {
            counter.exemplar = Some(exemplar);
        }
        self
    }
}

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from(std::time::SystemTime::now())
    }

    /// A timestamp from seconds and nanoseconds since the Unix epoch.
    pub fn new(seconds: i64, nanoseconds: u32) -> Self {
        Timestamp {
            seconds,
            nanoseconds,
        }
    }
}

impl From<std::time::SystemTime> for Timestamp {
    fn from(time: std::time::SystemTime) -> Self {
        match time.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timestamp::new(d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => {
                // Before 1970: floor to whole seconds below the instant.
                let d = e.duration();
                let mut seconds = -(d.as_secs() as i64);
                let mut nanos = d.subsec_nanos();
                if nanos > 0 {
                    seconds -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                Timestamp::new(seconds, nanos)
            }
        }
    }
}

impl Exemplar {
    /// An exemplar with `labels` and `value`, without timestamp.
    pub fn new<I, N, V>(labels: I, value: f64) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        Exemplar {
            labels: labels
                .into_iter()
                .map(|(name, value)| Label {
                    name: name.into(),
                    value: value.into(),
                })
                .collect(),
            value,
            timestamp: None,
        }
    }

    /// Sets the exemplar's timestamp.
    pub fn at(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = Some(timestamp);
        self
    }
}

impl HistogramValue {
    /// A histogram value from `(upper_bound, cumulative_count)` pairs, ending
    /// with `f64::INFINITY`.
    pub fn from_cumulative<I>(buckets: I, sum: f64, count: u64) -> Self
    where
        I: IntoIterator<Item = (f64, u64)>,
    {
        HistogramValue {
            buckets: buckets
                .into_iter()
                .map(|(upper_bound, cumulative_count)| Bucket {
                    upper_bound,
                    cumulative_count,
                    exemplar: None,
                })
                .collect(),
            sum,
            count,
        }
    }
}

impl SummaryValue {
    /// A summary value from `(quantile, value)` pairs.
    pub fn from_quantiles<I>(quantiles: I, sum: f64, count: u64) -> Self
    where
        I: IntoIterator<Item = (f64, f64)>,
    {
        SummaryValue {
            quantiles: quantiles
                .into_iter()
                .map(|(quantile, value)| Quantile { quantile, value })
                .collect(),
            sum,
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_fill_every_field() {
        let mut family = MetricFamily::counter("requests_total", "Requests.").with_labels(["code"]);
        family
            .add_counter(["200"], 3.0)
            .with_created(Timestamp::new(10, 5))
            .with_exemplar(Exemplar::new([("trace_id", "abc")], 1.0));
        assert_eq!(family.label_names, vec!["code".to_owned()]);
        let series = &family.series[0];
        assert_eq!(family.series_labels(0), vec!["200".to_owned()]);
        assert_eq!(
            series.created.map(|t| (t.seconds, t.nanoseconds)),
            Some((10, 5))
        );
        match &series.value {
            SampleValue::Counter(c) => {
                assert_eq!(c.total, 3.0);
                assert_eq!(c.exemplar.as_ref().map(|e| e.labels.len()), Some(1));
            }
            other => panic!("unexpected value {other:?}"),
        }
    }

    #[test]
    fn timestamps_before_the_epoch_floor() {
        let t = std::time::UNIX_EPOCH - std::time::Duration::from_millis(1500);
        let ts = Timestamp::from(t);
        assert_eq!((ts.seconds, ts.nanoseconds), (-2, 500_000_000));
    }

    #[test]
    fn no_config_rejects_unknown_keys() {
        serde_json::from_str::<NoConfig>("{}").unwrap();
        let e = serde_json::from_str::<NoConfig>(r#"{"x":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `x`"), "{e}");
    }

    #[test]
    fn label_values_are_interned_once_per_collect() {
        strings::reset();
        let mut a = MetricFamily::gauge("a", "A.").with_labels(["backend", "server"]);
        let mut b = MetricFamily::gauge("b", "B.").with_labels(["backend"]);
        a.add_gauge(["web", "s1"], 1.0);
        a.add_gauge(["web", "s2"], 2.0);
        b.add_gauge(["web"], 3.0);
        assert_eq!(a.label_values, vec![0, 1, 0, 2]);
        assert_eq!(b.label_values, vec![0]);
        assert_eq!(a.series_labels(1), ["web", "s2"]);
        assert_eq!(strings::take(), ["web", "s1", "s2"]);
        // The next collect starts from an empty table.
        assert_eq!(strings::intern("s2"), 0);
    }

    #[test]
    fn a_value_interned_once_builds_series_like_the_string() {
        strings::reset();
        let mut by_str = MetricFamily::gauge("a", "A.").with_labels(["backend", "server"]);
        by_str.add_gauge(["web", "s1"], 1.0);
        let web = strings::Interned::new("web");
        let mut by_value = MetricFamily::gauge("a", "A.").with_labels(["backend", "server"]);
        by_value.add_gauge([web, strings::Interned::new("s1")], 1.0);
        by_value.add_gauge(&[web, strings::Interned::new("s2")][..], 2.0);
        assert_eq!(by_value.label_values[..2], by_str.label_values[..]);
        assert_eq!(by_value.series_labels(1), ["web", "s2"]);
        assert_eq!(strings::take(), ["web", "s1", "s2"]);
    }
}
