//! Conversion of a plugin's returned values into the host's model. Strings
//! and vectors are moved, not copied; label values are shared from the
//! collection's table.

use super::bindings::types as wit;
use crate::exposition::model::{
    Bucket, Exemplar, Family, Histogram, Kind, Label, LabelValue, Quantile, Series, State, Summary,
    Timestamp, Value,
};
use crate::exposition::validate::Invalid;

fn timestamp(t: wit::Timestamp) -> Timestamp {
    Timestamp {
        seconds: t.seconds,
        nanos: t.nanoseconds,
    }
}

fn exemplar(e: wit::Exemplar) -> Exemplar {
    Exemplar {
        labels: e
            .labels
            .into_iter()
            .map(|l| Label {
                name: l.name,
                value: l.value,
            })
            .collect(),
        value: e.value,
        timestamp: e.timestamp.map(timestamp),
    }
}

fn histogram(h: wit::HistogramValue) -> Histogram {
    Histogram {
        buckets: h
            .buckets
            .into_iter()
            .map(|b| Bucket {
                upper_bound: b.upper_bound,
                cumulative_count: b.cumulative_count,
                exemplar: b.exemplar.map(exemplar),
            })
            .collect(),
        sum: h.sum,
        count: h.count,
    }
}

fn value(v: wit::SampleValue) -> Value {
    match v {
        wit::SampleValue::Counter(c) => Value::Counter {
            total: c.total,
            exemplar: c.exemplar.map(exemplar),
        },
        wit::SampleValue::Gauge(v) => Value::Gauge(v),
        wit::SampleValue::Unknown(v) => Value::Unknown(v),
        wit::SampleValue::Histogram(h) => Value::Histogram(histogram(h)),
        wit::SampleValue::GaugeHistogram(h) => Value::GaugeHistogram(histogram(h)),
        wit::SampleValue::Summary(s) => Value::Summary(Summary {
            quantiles: s
                .quantiles
                .into_iter()
                .map(|q| Quantile {
                    quantile: q.quantile,
                    value: q.value,
                })
                .collect(),
            sum: s.sum,
            count: s.count,
        }),
        wit::SampleValue::Info => Value::Info,
        wit::SampleValue::Stateset(states) => Value::Stateset(
            states
                .into_iter()
                .map(|s| State {
                    name: s.name,
                    enabled: s.enabled,
                })
                .collect(),
        ),
    }
}

fn kind(k: wit::MetricKind) -> Kind {
    match k {
        wit::MetricKind::Counter => Kind::Counter,
        wit::MetricKind::Gauge => Kind::Gauge,
        wit::MetricKind::Unknown => Kind::Unknown,
        wit::MetricKind::Histogram => Kind::Histogram,
        wit::MetricKind::GaugeHistogram => Kind::GaugeHistogram,
        wit::MetricKind::Summary => Kind::Summary,
        wit::MetricKind::Info => Kind::Info,
        wit::MetricKind::Stateset => Kind::Stateset,
    }
}

/// Converts a collection's label-value table, each value once.
pub fn strings(strings: Vec<String>) -> Vec<LabelValue> {
    strings.into_iter().map(LabelValue::from).collect()
}

/// Converts one returned family, resolving its label values in `strings`.
/// A family whose flat label values do not fit its series and label names,
/// or point outside the table, is refused whole.
pub fn family(f: wit::MetricFamily, strings: &[LabelValue]) -> Result<Family, Invalid> {
    let n = f.label_names.len();
    let refuse = |why: String| Invalid::Series {
        family: f.name.clone(),
        labels: String::new(),
        why,
    };
    if f.label_values.len() != n * f.series.len() {
        return Err(refuse(format!(
            "{} label values for {} series of {} label names",
            f.label_values.len(),
            f.series.len(),
            n
        )));
    }
    if let Some(bad) = f
        .label_values
        .iter()
        .find(|i| **i as usize >= strings.len())
    {
        return Err(refuse(format!(
            "label value index {bad} outside the collection's {} strings",
            strings.len()
        )));
    }
    let mut values = f.label_values.iter().map(|i| &strings[*i as usize]);
    let series = f
        .series
        .into_iter()
        .map(|s| Series {
            label_values: values.by_ref().take(n).cloned().collect(),
            value: value(s.value),
            timestamp: s.timestamp.map(timestamp),
            created: s.created.map(timestamp),
        })
        .collect();
    Ok(Family {
        name: f.name,
        help: f.help,
        unit: f.unit,
        kind: kind(f.kind),
        label_names: f.label_names,
        series: std::sync::Arc::new(series),
    })
}
