//! Conversion of a plugin's returned values into the host's types (the WIT
//! step of the scrape path). The versions share every type but the newest
//! cases, so one body is written here and stamped out in each version's
//! file. Strings and vectors are moved, not copied; label values stay
//! indices into the collection's table until validation resolves them.

use crate::exposition::model::Histogram;

/// A family's native histograms (contract 0.2.0), each taken by the one
/// series that points at it.
#[derive(Default)]
pub struct Natives {
    /// The histograms, each taken once.
    pub table: Vec<Option<Histogram>>,
    /// What went wrong, for validation to drop the family with.
    pub error: Option<String>,
}

impl Natives {
    /// The histogram at `index`, moved out; on a bad or repeated index the
    /// error is kept and an empty histogram stands in (the family is
    /// dropped by validation).
    pub fn take(&mut self, index: u32) -> Histogram {
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

/// Builds the module `convert` of one version's file: its `types`' values
/// into the model's. `$natives` is the name the `$extra` match arms (for
/// the `sample-value` cases the version added) use for the family's native
/// histograms.
macro_rules! converter {
    ($natives:ident, $($extra:tt)*) => {
        /// Conversion of this contract version's values.
        pub mod convert {
            #[allow(unused_imports)]
            use crate::exposition::model::{
                Bucket, Exemplar, Family, Histogram, Kind, Label, LabelValue, LabelValues, Native,
                NativeBucket, Quantile, Series, State, Summary, Timestamp, Times, Value,
            };
            use super::types as wit;
            use $crate::runtime::contract::convert::Natives;

            pub(super) fn timestamp(t: wit::Timestamp) -> Timestamp {
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
            pub(super) fn value(v: wit::SampleValue, $natives: &mut Natives) -> Value {
                match v {
                    wit::SampleValue::Counter(c) => Value::Counter {
                        total: c.total,
                        exemplar: c.exemplar.map(|e| Box::new(exemplar(e))),
                    },
                    wit::SampleValue::Gauge(v) => Value::Gauge(v),
                    wit::SampleValue::Unknown(v) => Value::Unknown(v),
                    wit::SampleValue::Histogram(h) => Value::Histogram(Box::new(histogram(h))),
                    wit::SampleValue::GaugeHistogram(h) => {
                        Value::GaugeHistogram(Box::new(histogram(h)))
                    }
                    wit::SampleValue::Summary(s) => Value::Summary(Box::new(Summary {
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
                    })),
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

            pub(super) fn kind(k: wit::MetricKind) -> Kind {
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
        }
    };
}

pub(super) use converter;

/// The host's imports in one version's words (`host.log`, `fetch`), mapped
/// onto the host's own (`runtime::host`, `runtime::fetch`); for the
/// versions whose imports have this shape. Invoked in the version's file,
/// where `host`, `types` and `fetch` are its bindings.
///
/// The version's file maps its `fetch` records with `host_request` and
/// `wit_response` (for 0.1.0 and 0.2.0: [`socket_era_fetch`]).
macro_rules! imports {
    () => {
        impl host::Host for StoreState {
            fn log(&mut self, level: host::Level, message: String) {
                let level = match level {
                    host::Level::Trace => tracing::Level::TRACE,
                    host::Level::Debug => tracing::Level::DEBUG,
                    host::Level::Info => tracing::Level::INFO,
                    host::Level::Warn => tracing::Level::WARN,
                    host::Level::Error => tracing::Level::ERROR,
                };
                self.log.write(&self.plugin, level, message)
            }
        }

        impl types::Host for StoreState {}

        impl fetch::Host for StoreState {
            async fn fetch(
                &mut self,
                request: fetch::Request,
            ) -> Result<fetch::Response, fetch::FetchError> {
                use fetch::FetchError as Wit;
                use $crate::runtime::fetch::FetchError as Host;
                let request = host_request(request);
                match self
                    .fetch
                    .fetch(&self.plugin, request, self.deadline, &mut self.log)
                    .await
                {
                    Ok(r) => Ok(wit_response(r)),
                    Err(e) => Err(match e {
                        Host::Denied(m) => Wit::Denied(m),
                        Host::InvalidTarget(m) => Wit::InvalidTarget(m),
                        Host::Connect(m) => Wit::Connect(m),
                        Host::Timeout => Wit::Timeout,
                        Host::TooLarge(n) => Wit::TooLarge(n),
                        Host::Protocol(m) => Wit::Protocol(m),
                    }),
                }
            }
        }
    };
}

pub(super) use imports;

/// `host_request` and `wit_response` for the versions whose `fetch` is a
/// GET or a socket command (0.1.0, 0.2.0): the command is the body written
/// to a socket, and the response's headers are left out.
macro_rules! socket_era_fetch {
    () => {
        fn host_request(r: fetch::Request) -> $crate::runtime::fetch::Request {
            $crate::runtime::fetch::Request {
                body: r.command.map(String::into_bytes),
                tls_verify: r.tls_verify,
                timeout_ms: r.timeout_ms,
                ..$crate::runtime::fetch::Request::new(r.target)
            }
        }

        fn wit_response(r: $crate::runtime::fetch::Response) -> fetch::Response {
            fetch::Response {
                status: r.status,
                body: r.body,
            }
        }
    };
}

pub(super) use socket_era_fetch;

/// The calls of the collector interface that every version words the same
/// (`metadata`, `init`), for its `impl Exports`; `self.FIELD` (or
/// `self`) holds the version's generated `Plugin`, and `types` is the
/// version's bindings.
macro_rules! collector_calls {
    ($($field:ident)?) => {
        fn metadata<'a>(
            &'a self,
            store: &'a mut wasmtime::Store<$crate::runtime::state::StoreState>,
        ) -> futures::future::BoxFuture<'a, wasmtime::Result<$crate::runtime::contract::Metadata>>
        {
            use futures::FutureExt as _;
            async move {
                let m = self$(.$field)?
                    .wasm_exporter_plugin_collector()
                    .call_metadata(store)
                    .await?;
                Ok($crate::runtime::contract::Metadata {
                    name: m.name,
                    version: m.version,
                    description: m.description,
                })
            }
            .boxed()
        }

        fn init<'a>(
            &'a self,
            store: &'a mut wasmtime::Store<$crate::runtime::state::StoreState>,
            config: &'a str,
        ) -> futures::future::BoxFuture<
            'a,
            wasmtime::Result<Result<(), $crate::runtime::contract::InitError>>,
        > {
            use futures::FutureExt as _;
            use $crate::runtime::contract::InitError;
            async move {
                let r = self$(.$field)?
                    .wasm_exporter_plugin_collector()
                    .call_init(store, config)
                    .await?;
                Ok(r.map_err(|e| match e {
                    types::InitError::InvalidConfig(m) => InitError::InvalidConfig(m),
                    types::InitError::Failed(m) => InitError::Failed(m),
                }))
            }
            .boxed()
        }
    };
}

pub(super) use collector_calls;

/// `collect` through the version's generated bindings (0.1.0), for its
/// `impl Exports` beside [`collector_calls!`].
macro_rules! generated_collect {
    ($($field:ident)?) => {
        fn collect<'a>(
            &'a self,
            store: &'a mut wasmtime::Store<$crate::runtime::state::StoreState>,
        ) -> futures::future::BoxFuture<
            'a,
            $crate::runtime::contract::Called<$crate::runtime::contract::Collected>,
        > {
            use futures::FutureExt as _;
            async move {
                Ok(self$(.$field)?
                    .wasm_exporter_plugin_collector()
                    .call_collect(store)
                    .await?
                    .map($crate::runtime::contract::Collected::new)
                    .map_err(|e| e.message))
            }
            .boxed()
        }
    };
}

pub(super) use generated_collect;
