//! `collect`'s result lifted straight into the host's model, for the
//! versions with native histograms (0.2.0 and later, whose `types` have
//! one shape).
//!
//! The generated bindings lift a collection into records of their own,
//! which the converter then moved into the model: every series was built
//! twice, and a 500x10 HAProxy scrape has 157,000 of them. Here the
//! family and collection records are derived by wasmtime from their WIT
//! shape (checked against the component when the function is typed), and
//! a family's `list<series>` is read from the guest's memory into model
//! [`Series`] in one pass, after wasmtime's own list lift has checked its
//! bounds and alignment: the values that make up nearly every series (a
//! counter without exemplar, a gauge, an unknown value, an info, a native
//! histogram's index, and their timestamps) are decoded here, and any
//! other series is lifted by the bindings' own type and converted as
//! before. Nothing is checked here that validation checks later.

use crate::exposition::model::{Histogram, Series, Timestamp, Value};

use super::convert::Natives;

/// A family's series as lifted, and those that point at its native
/// histograms (lifted after the series), by position.
#[derive(Default)]
pub struct SeriesList {
    /// The series, each native histogram's value a stand-in until
    /// [`SeriesList::into_series`].
    pub series: Vec<Series>,
    /// Position, index in the family's native histograms, and whether it
    /// is a gauge histogram.
    pub natives: Vec<(usize, u32, bool)>,
}

impl SeriesList {
    /// The series, each native histogram taken from `natives`.
    pub fn into_series(self, natives: &mut Natives) -> Vec<Series> {
        let mut series = self.series;
        for (at, index, gauge) in self.natives {
            let histogram: Box<Histogram> = Box::new(natives.take(index));
            if let Some(s) = series.get_mut(at) {
                s.value = if gauge {
                    Value::GaugeHistogram(histogram)
                } else {
                    Value::Histogram(histogram)
                };
            }
        }
        series
    }
}

/// `n` rounded up to `align` (a power of two), as the canonical ABI lays
/// out a record's fields.
pub const fn align_to(n: usize, align: u32) -> usize {
    let align = align as usize;
    (n + align - 1) & !(align - 1)
}

/// An `option<timestamp>` at the start of `bytes`: `None` when its case is
/// not one of the two (the bindings' type then lifts it, and fails).
pub fn option_timestamp(bytes: &[u8], payload: usize) -> Option<Option<Timestamp>> {
    match bytes.first()? {
        0 => Some(None),
        1 => {
            let seconds = i64::from_le_bytes(bytes.get(payload..payload + 8)?.try_into().ok()?);
            let nanos = u32::from_le_bytes(bytes.get(payload + 8..payload + 12)?.try_into().ok()?);
            Some(Some(Timestamp { seconds, nanos }))
        }
        _ => None,
    }
}

/// A little-endian `f64` at `at`.
pub fn f64_at(bytes: &[u8], at: usize) -> Option<f64> {
    Some(f64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// A little-endian `u32` at `at`.
pub fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Stamps out `fast`, the version's collection lifted into the model, in a
/// prober-era version's file (where `types` are its bindings and
/// `convert` its converter).
macro_rules! fast_lift {
    () => {
        /// This version's `collection` lifted into the model (see
        /// `contract::lift`).
        pub mod fast {
            use wasmtime::component::__internal::{
                CanonicalAbiInfo, ComponentVariant, InstanceType, InterfaceType, LiftContext,
            };
            use wasmtime::component::{ComponentType, Lift, WasmList};

            use super::types as wit;
            use $crate::exposition::model::{Series, Times, Value};
            use $crate::exposition::raw::{RawCollection, RawFamily};
            use $crate::runtime::contract::convert::Natives;
            use $crate::runtime::contract::lift::{
                SeriesList, align_to, f64_at, option_timestamp, u32_at,
            };

            /// `collection`, its families lifted by [`MetricFamily`].
            #[derive(ComponentType, Lift)]
            #[component(record)]
            pub struct Collection {
                /// The label-value table.
                pub strings: Vec<String>,
                /// The families.
                pub families: Vec<MetricFamily>,
            }

            /// `metric-family`, its series lifted by [`FastSeries`].
            #[derive(ComponentType, Lift)]
            #[component(record)]
            pub struct MetricFamily {
                /// The name.
                pub name: String,
                /// The help text.
                pub help: String,
                /// The unit.
                pub unit: String,
                /// The type.
                pub kind: wit::MetricKind,
                /// The label names.
                #[component(name = "label-names")]
                pub label_names: Vec<String>,
                /// Indices into the table, per series.
                #[component(name = "label-values")]
                pub label_values: Vec<u32>,
                /// The series.
                pub series: FastSeries,
                /// The native histograms the series point at.
                #[component(name = "native-histograms")]
                pub native_histograms: Vec<wit::NativeHistogramValue>,
            }

            /// `list<series>`, lifted into the model.
            pub struct FastSeries(pub SeriesList);

            /// The layout of `series` and of the values read here.
            const SERIES: usize = <wit::Series as ComponentType>::ABI.size32 as usize;
            const VALUE: CanonicalAbiInfo = <wit::SampleValue as ComponentType>::ABI;
            const PAYLOAD: usize = <wit::SampleValue as ComponentVariant>::PAYLOAD_OFFSET32;
            const STAMP: CanonicalAbiInfo = <Option<wit::Timestamp> as ComponentType>::ABI;
            const STAMP_PAYLOAD: usize =
                <Option<wit::Timestamp> as ComponentVariant>::PAYLOAD_OFFSET32;
            const TIMESTAMP_AT: usize = align_to(VALUE.size32 as usize, STAMP.align32);
            const CREATED_AT: usize = align_to(TIMESTAMP_AT + STAMP.size32 as usize, STAMP.align32);
            /// A counter's `exemplar`, after its `total`.
            const EXEMPLAR_AT: usize =
                PAYLOAD + align_to(8, <Option<wit::Exemplar> as ComponentType>::ABI.align32);

            // SAFETY: the same type, size and alignment as the bindings'
            // `list<series>`, whose check it uses.
            #[allow(unsafe_code)]
            unsafe impl ComponentType for FastSeries {
                type Lower = <Vec<wit::Series> as ComponentType>::Lower;
                const ABI: CanonicalAbiInfo = <Vec<wit::Series> as ComponentType>::ABI;

                fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
                    <Vec<wit::Series> as ComponentType>::typecheck(ty, types)
                }
            }

            // SAFETY: wasmtime's own list lift checks the list's bounds,
            // alignment and the host-call fuel; elements are read from
            // within them, and any this does not decode is lifted by the
            // bindings' `Series`.
            #[allow(unsafe_code)]
            unsafe impl Lift for FastSeries {
                fn linear_lift_from_flat(
                    cx: &mut LiftContext<'_>,
                    ty: InterfaceType,
                    src: &Self::Lower,
                ) -> wasmtime::Result<Self> {
                    let list = <WasmList<wit::Series> as Lift>::linear_lift_from_flat(cx, ty, src)?;
                    let ptr = usize::try_from(src[0].get_u32())?;
                    lift_list(cx, ty, ptr, list.len())
                }

                fn linear_lift_from_memory(
                    cx: &mut LiftContext<'_>,
                    ty: InterfaceType,
                    bytes: &[u8],
                ) -> wasmtime::Result<Self> {
                    let list =
                        <WasmList<wit::Series> as Lift>::linear_lift_from_memory(cx, ty, bytes)?;
                    let ptr = u32_at(bytes, 0)
                        .ok_or_else(|| wasmtime::format_err!("list pointer out of its record"))?;
                    lift_list(cx, ty, usize::try_from(ptr)?, list.len())
                }
            }

            /// The `len` series at `ptr`, checked in bounds by the caller.
            fn lift_list(
                cx: &mut LiftContext<'_>,
                ty: InterfaceType,
                ptr: usize,
                len: usize,
            ) -> wasmtime::Result<FastSeries> {
                let InterfaceType::List(list) = ty else {
                    wasmtime::bail!("expected a list of series");
                };
                let element = cx.types[list].element;
                let memory = cx.memory();
                let bytes = ptr
                    .checked_add(len.saturating_mul(SERIES))
                    .and_then(|end| memory.get(ptr..end))
                    .ok_or_else(|| wasmtime::format_err!("list out of bounds of memory"))?;
                let mut out = SeriesList {
                    series: Vec::with_capacity(len),
                    natives: Vec::new(),
                };
                for (at, bytes) in bytes.chunks_exact(SERIES).enumerate() {
                    let series = match decode(bytes, at, &mut out.natives) {
                        Some(series) => series,
                        None => {
                            let s =
                                <wit::Series as Lift>::linear_lift_from_memory(cx, element, bytes)?;
                            general(s, at, &mut out.natives)
                        }
                    };
                    out.series.push(series);
                }
                Ok(FastSeries(out))
            }

            /// The common series, read from its bytes; `None` for any
            /// other (or a malformed one), which the bindings lift.
            fn decode(
                bytes: &[u8],
                at: usize,
                natives: &mut Vec<(usize, u32, bool)>,
            ) -> Option<Series> {
                let timestamp = option_timestamp(bytes.get(TIMESTAMP_AT..)?, STAMP_PAYLOAD)?;
                let created = option_timestamp(bytes.get(CREATED_AT..)?, STAMP_PAYLOAD)?;
                let value = match bytes.first()? {
                    // counter, without an exemplar
                    0 if *bytes.get(EXEMPLAR_AT)? == 0 => Value::Counter {
                        total: f64_at(bytes, PAYLOAD)?,
                        exemplar: None,
                    },
                    1 => Value::Gauge(f64_at(bytes, PAYLOAD)?),
                    2 => Value::Unknown(f64_at(bytes, PAYLOAD)?),
                    6 => Value::Info,
                    case @ (8 | 9) => {
                        natives.push((at, u32_at(bytes, PAYLOAD)?, *case == 9));
                        Value::Info
                    }
                    _ => return None,
                };
                Some(Series {
                    label_values: Default::default(),
                    value,
                    times: Times::boxed(timestamp, created),
                })
            }

            /// A series the bindings lifted, converted.
            fn general(s: wit::Series, at: usize, natives: &mut Vec<(usize, u32, bool)>) -> Series {
                let value = match s.value {
                    wit::SampleValue::NativeHistogram(i) => {
                        natives.push((at, i, false));
                        Value::Info
                    }
                    wit::SampleValue::NativeGaugeHistogram(i) => {
                        natives.push((at, i, true));
                        Value::Info
                    }
                    // No native case reaches the converter: it needs no
                    // table.
                    value => super::convert::value(value, &mut Natives::default()),
                };
                Series {
                    label_values: Default::default(),
                    value,
                    times: Times::boxed(
                        s.timestamp.map(super::convert::timestamp),
                        s.created.map(super::convert::timestamp),
                    ),
                }
            }

            fn family(f: MetricFamily) -> RawFamily {
                let mut natives = Natives {
                    table: f
                        .native_histograms
                        .into_iter()
                        .map(|n| Some(super::native(n)))
                        .collect(),
                    error: None,
                };
                let series = f.series.0.into_series(&mut natives);
                RawFamily {
                    family: $crate::exposition::model::Family {
                        name: f.name,
                        help: f.help,
                        unit: f.unit,
                        kind: super::convert::kind(f.kind),
                        label_names: f.label_names,
                        series: std::sync::Arc::new(series),
                    },
                    label_indices: f.label_values,
                    native_error: natives.error,
                }
            }

            impl $crate::runtime::contract::Lifted for Collection {
                fn families(&self) -> usize {
                    self.families.len()
                }

                fn series(&self) -> usize {
                    self.families.iter().map(|f| f.series.0.series.len()).sum()
                }

                fn into_raw(self: Box<Self>) -> RawCollection {
                    RawCollection {
                        strings: self.strings.into_iter().map(Into::into).collect(),
                        families: self.families.into_iter().map(family).collect(),
                    }
                }
            }
        }
    };
}

pub(super) use fast_lift;
