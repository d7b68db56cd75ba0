//! Conversion of a plugin's returned values into the host's types (the WIT
//! step of the scrape path), for every contract version: the versions share
//! every type but the newest cases, so one body is written once and stamped
//! out per version. Strings and vectors are moved, not copied; label values
//! stay indices into the collection's table until validation resolves them.

use crate::exposition::model::{Histogram, Native, NativeBucket};
use crate::runtime::bindings::v0_2::types as wit;

/// A family's native histograms (contract 0.2.0), each taken by the one
/// series that points at it.
#[derive(Default)]
pub struct Natives {
    table: Vec<Option<Histogram>>,
    /// What went wrong, for validation to drop the family with.
    error: Option<String>,
}

impl Natives {
    /// The histogram at `index`, moved out; on a bad or repeated index the
    /// error is kept and an empty histogram stands in (the family is
    /// dropped by validation).
    fn take(&mut self, index: u32) -> Histogram {
        let len = self.table.len();
        match self.table.get_mut(index as usize).and_then(Option::take) {
            Some(h) => h,
            None => {
                self.error.get_or_insert_with(|| {
                    if (index as usize) < len {
                        format!("two series use native histogram {index}")
                    } else {
                        format!("native histogram index {index} outside the family's {len}")
                    }
                });
                Histogram {
                    buckets: Vec::new(),
                    sum: 0.0,
                    count: 0,
                    native: None,
                }
            }
        }
    }
}

/// Builds a module converting one version's `types` into the model.
/// `$natives_of` is that version's function from a family to its native
/// histograms, and `$natives` the name the `$extra` match arms (for the
/// `sample-value` cases the version added) use for them.
macro_rules! converter {
    ($version:ident, $natives_of:item, $natives:ident, $($extra:tt)*) => {
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

            #[allow(unused_variables)]
            fn value(v: wit::SampleValue, $natives: &mut super::Natives) -> Value {
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

            $natives_of

            fn family(mut f: wit::MetricFamily) -> RawFamily {
                let mut natives = natives_of(&mut f);
                let series = f
                    .series
                    .into_iter()
                    .map(|s| Series {
                        label_values: Vec::new(),
                        value: value(s.value, &mut natives),
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
                    native_error: natives.error,
                }
            }
        }
    };
}

converter!(
    v0_1,
    /// 0.1.0 has no native histograms.
    fn natives_of(_: &mut wit::MetricFamily) -> super::Natives {
        super::Natives::default()
    },
    natives,
);

converter!(
    v0_2,
    /// The family's native histograms, converted once.
    fn natives_of(f: &mut wit::MetricFamily) -> super::Natives {
        super::Natives {
            table: std::mem::take(&mut f.native_histograms)
                .into_iter()
                .map(|n| Some(super::native(n)))
                .collect(),
            error: None,
        }
    },
    natives,
    wit::SampleValue::NativeHistogram(i) => Value::Histogram(natives.take(i)),
    wit::SampleValue::NativeGaugeHistogram(i) => Value::GaugeHistogram(natives.take(i)),
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

#[cfg(test)]
mod tests {
    use super::wit;

    fn family(indices: &[u32]) -> wit::MetricFamily {
        let native = wit::NativeHistogramValue {
            schema: 0,
            zero_threshold: 0.0,
            zero_count: 1,
            negative: Vec::new(),
            positive: Vec::new(),
            count: 1,
            sum: 0.0,
            exemplars: Vec::new(),
            classic: Vec::new(),
        };
        wit::MetricFamily {
            name: "n".into(),
            help: String::new(),
            unit: String::new(),
            kind: wit::MetricKind::Histogram,
            label_names: Vec::new(),
            label_values: Vec::new(),
            series: indices
                .iter()
                .map(|&i| wit::Series {
                    value: wit::SampleValue::NativeHistogram(i),
                    timestamp: None,
                    created: None,
                })
                .collect(),
            native_histograms: vec![native],
        }
    }

    fn error(indices: &[u32]) -> Option<String> {
        let c = super::v0_2::collection(wit::Collection {
            strings: Vec::new(),
            families: vec![family(indices)],
        });
        c.families[0].native_error.clone()
    }

    /// A series takes its native histogram out of the family's list; an
    /// index outside it, or one taken twice, marks the family for validation
    /// to drop.
    #[test]
    fn native_histograms_are_taken_by_index_once() {
        assert_eq!(error(&[0]), None);
        assert_eq!(
            error(&[3]).as_deref(),
            Some("native histogram index 3 outside the family's 1")
        );
        assert_eq!(
            error(&[0, 0]).as_deref(),
            Some("two series use native histogram 0")
        );
    }
}
