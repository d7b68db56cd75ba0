//! `wasm-exporter:plugin@0.2.0`, the current version: native histograms,
//! UTF-8 names, and the prober interface (`/probe`); its imports mapped onto
//! the host's `log` and `fetch`. Its WIT ships inside
//! the SDK crate (`plugins/sdk/wit/`; `wit/` at the top of the repository
//! points there).

use futures::FutureExt as _;
use futures::future::BoxFuture;
use wasmtime::component::{ComponentExportIndex, HasSelf, InstancePre, Linker, TypedFunc};

use super::convert::{collector_calls, converter, imports, lifted};
use super::{Bindings, Called, Collected, InitError, Prepared, Version};
use crate::exposition::model::{Histogram, Native, NativeBucket};
use crate::runtime::state::StoreState;

/// What `bindgen!` generates from the SDK's WIT, in a module of its own so
/// that generated names (`Config`, `Level`...) never clash with wasmtime's
/// or ours.
#[allow(missing_docs, unsafe_code, unused_variables, clippy::all)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../plugins/sdk/wit",
        world: "plugin",
        imports: { "wasm-exporter:plugin/fetch.fetch": async },
        exports: { default: async },
    });
}

pub use generated::exports::wasm_exporter::plugin::collector;
pub use generated::wasm_exporter::plugin::{fetch, host, types};
use generated::{Plugin, PluginPre};

/// The version, as in the package name.
pub const VERSION: &str = "0.2.0";

/// The interface a plugin exports to answer `/probe` (the `probe-plugin`
/// world).
pub const PROBER: &str = "wasm-exporter:plugin/prober@0.2.0";

converter!(
    /// The family's native histograms, converted once.
    fn natives_of(f: &mut wit::MetricFamily) -> Natives {
        Natives {
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
fn native(n: types::NativeHistogramValue) -> Histogram {
    let side = |b: Vec<types::NativeBucket>| {
        b.into_iter()
            .map(|b| NativeBucket {
                index: b.index,
                count: b.count,
            })
            .collect()
    };
    Histogram {
        buckets: convert::buckets(n.classic),
        sum: n.sum,
        count: n.count,
        native: Some(Box::new(Native {
            schema: n.schema,
            zero_threshold: n.zero_threshold,
            zero_count: n.zero_count,
            negative: side(n.negative),
            positive: side(n.positive),
            exemplars: n.exemplars.into_iter().map(convert::exemplar).collect(),
        })),
    }
}

/// 0.2.0 in the dispatch.
pub struct Contract0_2;

impl super::Contract for Contract0_2 {
    fn version(&self) -> Version {
        Version(VERSION)
    }

    fn link(&self, linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
        Plugin::add_to_linker::<StoreState, HasSelf<StoreState>>(linker, |s| s)
    }

    fn prepare(&self, pre: InstancePre<StoreState>) -> wasmtime::Result<super::PluginPre> {
        let component = pre.component();
        check_prober(component)?;
        let probe = component
            .get_export_index(None, PROBER)
            .and_then(|iface| component.get_export_index(Some(&iface), "probe"));
        Ok(super::PluginPre::new(PluginPre0_2 {
            pre: PluginPre::new(pre)?,
            probe,
        }))
    }
}

/// The collector interface, whose `collect` a prober's `probe` answers
/// like.
const COLLECTOR: &str = "wasm-exporter:plugin/collector@0.2.0";

/// A component that exports the prober interface must export it whole and
/// typed as the contract says: `probe(target: string, params:
/// list<tuple<string, string>>)` returning what `collect` returns. Checked
/// at load, so that a wrong one refuses the file naming the export, rather
/// than failing every instantiation later.
fn check_prober(component: &wasmtime::component::Component) -> wasmtime::Result<()> {
    use wasmtime::component::types::{ComponentItem, Type};
    let engine = component.engine();
    let ty = component.component_type();
    let func = |iface: &str, name: &str| {
        let Some(ComponentItem::ComponentInstance(instance)) =
            ty.get_export(engine, iface).map(|e| e.ty)
        else {
            return Err(format!("{iface} is not an exported interface"));
        };
        match instance.get_export(engine, name).map(|e| e.ty) {
            Some(ComponentItem::ComponentFunc(f)) => Ok(f),
            _ => Err(format!("{iface} does not export the function {name}")),
        }
    };
    if ty.get_export(engine, PROBER).is_none() {
        return Ok(());
    }
    let checked = func(PROBER, "probe").and_then(|probe| {
        let collect = func(COLLECTOR, "collect")?;
        let pair = |t: &Type| match t {
            Type::Tuple(t) => t.types().eq([Type::String, Type::String]),
            _ => false,
        };
        let params: Vec<Type> = probe.params().map(|(_, t)| t).collect();
        let params_ok = match params.as_slice() {
            [Type::String, Type::List(list)] => pair(&list.ty()),
            _ => false,
        };
        let results_ok = probe.results().eq(collect.results());
        if params_ok && results_ok {
            Ok(())
        } else {
            Err(format!(
                "{PROBER}: probe has the wrong type; the contract's is func(target: string, params: list<tuple<string, string>>) -> result<collection, collect-error>"
            ))
        }
    });
    checked.map_err(|why| wasmtime::format_err!("{why}"))
}

/// `prober.probe`, typed.
type ProbeFunc =
    TypedFunc<(String, Vec<(String, String)>), (Result<types::Collection, types::CollectError>,)>;

/// A checked 0.2.0 component, with the index of its `probe` function when
/// it exports the prober interface.
struct PluginPre0_2 {
    pre: PluginPre<StoreState>,
    probe: Option<ComponentExportIndex>,
}

/// A live 0.2.0 instance: the plugin world's exports, and `prober.probe`
/// when it exports it.
struct Exports0_2 {
    plugin: Plugin,
    probe: Option<ProbeFunc>,
}

impl Prepared for PluginPre0_2 {
    fn version(&self) -> Version {
        Version(VERSION)
    }

    fn probes(&self) -> bool {
        self.probe.is_some()
    }

    fn instantiate<'a>(
        &'a self,
        store: &'a mut wasmtime::Store<StoreState>,
    ) -> BoxFuture<'a, wasmtime::Result<Bindings>> {
        async move {
            let Some(index) = self.probe else {
                let plugin = self.pre.instantiate_async(store).await?;
                return Ok(Bindings::new(Exports0_2 {
                    plugin,
                    probe: None,
                }));
            };
            let instance = self
                .pre
                .instance_pre()
                .instantiate_async(&mut *store)
                .await?;
            let plugin = Plugin::new(&mut *store, &instance)?;
            // Its type is checked here, once per instance: a `probe` of
            // another shape fails to instantiate, as a bad collector does.
            let probe: ProbeFunc = instance.get_typed_func(&mut *store, index)?;
            Ok(Bindings::new(Exports0_2 {
                plugin,
                probe: Some(probe),
            }))
        }
        .boxed()
    }
}

impl super::Exports for Exports0_2 {
    collector_calls!(plugin);

    fn init<'a>(
        &'a self,
        store: &'a mut wasmtime::Store<StoreState>,
        config: &'a str,
    ) -> BoxFuture<'a, wasmtime::Result<Result<(), InitError>>> {
        async move {
            self.plugin
                .wasm_exporter_plugin_collector()
                .call_init(store, config)
                .await
        }
        .boxed()
    }

    fn probe<'a>(
        &'a self,
        store: &'a mut wasmtime::Store<StoreState>,
        target: &'a str,
        params: &'a [(String, String)],
    ) -> Option<BoxFuture<'a, Called<Collected>>> {
        let probe = self.probe.as_ref()?;
        Some(
            async move {
                let (r,) = probe
                    .call_async(store, (target.to_owned(), params.to_vec()))
                    .await?;
                Ok(r.map(Collected::new).map_err(|e| e.message))
            }
            .boxed(),
        )
    }
}

lifted!();

imports!();

#[cfg(test)]
mod tests {
    use super::types as wit;

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
        let c = super::convert::collection(wit::Collection {
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
