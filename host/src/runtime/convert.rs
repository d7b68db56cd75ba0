//! Conversion of a plugin's returned values into the host's types (the WIT
//! step of the scrape path), for every contract version: the versions share
//! every type but the newest cases, so one body is written once and stamped
//! out per version. Strings and vectors are moved, not copied; label values
//! stay indices into the collection's table until validation resolves them.

use crate::exposition::model::{Histogram, Native, NativeBucket};
use crate::runtime::bindings::v0_2::types as wit;

/// Builds a module converting one version's `types` into the model;
/// `$extra` are the match arms of `sample-value` cases that version added.
macro_rules! converter {
    ($version:ident, $($extra:tt)*) => {
        /// Conversion of this contract version's values.
        pub mod $version {
            #[allow(unused_imports)]
            use crate::exposition::model::{
                Bucket, Exemplar, Family, Histogram, Kind, Label, LabelValue, Native,
                NativeBucket, Quantile, Series, State, Summary, Timestamp, Value,
            };
            use crate::exposition::raw::{RawCollection, RawFamily};
            use crate::runtime::bindings::$version::types as wit;

            fn timestamp(t: wit::Timestamp) -> Timestamp {
                Timestamp {
                    seconds: t.seconds,
                    nanos: t.nanoseconds,
                }
            }

            pub(super) fn exemplar(e: wit::Exemplar) -> Exemplar {
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

            pub(super) fn buckets(buckets: Vec<wit::Bucket>) -> Vec<Bucket> {
                buckets
                    .into_iter()
                    .map(|b| Bucket {
                        upper_bound: b.upper_bound,
                        cumulative_count: b.cumulative_count,
                        exemplar: b.exemplar.map(exemplar),
                    })
                    .collect()
            }

            fn histogram(h: wit::HistogramValue) -> Histogram {
                Histogram {
                    buckets: buckets(h.buckets),
                    sum: h.sum,
                    count: h.count,
                    native: None,
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
                    $($extra)*
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

            /// Moves a returned collection into the host's types. Nothing
            /// is checked here: the label-value indices stay as they came,
            /// for validation.
            pub fn collection(c: wit::Collection) -> RawCollection {
                RawCollection {
                    strings: c.strings.into_iter().map(LabelValue::from).collect(),
                    families: c.families.into_iter().map(family).collect(),
                }
            }

            fn family(f: wit::MetricFamily) -> RawFamily {
                let series = f
                    .series
                    .into_iter()
                    .map(|s| Series {
                        label_values: Vec::new(),
                        value: value(s.value),
                        timestamp: s.timestamp.map(timestamp),
                        created: s.created.map(timestamp),
                    })
                    .collect();
                RawFamily {
                    family: Family {
                        name: f.name,
                        help: f.help,
                        unit: f.unit,
                        kind: kind(f.kind),
                        label_names: f.label_names,
                        series: std::sync::Arc::new(series),
                    },
                    label_indices: f.label_values,
                }
            }
        }
    };
}

converter!(v0_1,);

converter!(v0_2,
    wit::SampleValue::NativeHistogram(n) => Value::Histogram(super::native(n)),
    wit::SampleValue::NativeGaugeHistogram(n) => Value::GaugeHistogram(super::native(n)),
);

/// A 0.2.0 native histogram: its classic buckets (if any) beside the
/// native part.
fn native(n: wit::NativeHistogramValue) -> Histogram {
    let side = |b: Vec<wit::NativeBucket>| {
        b.into_iter()
            .map(|b| NativeBucket {
                index: b.index,
                count: b.count,
            })
            .collect()
    };
    Histogram {
        buckets: v0_2::buckets(n.classic),
        sum: n.sum,
        count: n.count,
        native: Some(Box::new(Native {
            schema: n.schema,
            zero_threshold: n.zero_threshold,
            zero_count: n.zero_count,
            negative: side(n.negative),
            positive: side(n.positive),
            exemplars: n.exemplars.into_iter().map(v0_2::exemplar).collect(),
        })),
    }
}
