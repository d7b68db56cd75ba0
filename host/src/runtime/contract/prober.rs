//! What the versions with native histograms and the prober interface
//! (0.2.0 and later) share: the conversion of native histograms, the check
//! of a `probe` export, and the calls into an instance. Each such version's
//! file generates its bindings and invokes [`prober_version!`] beside them.

/// A component that exports the prober interface must export it whole and
/// typed as the contract says: `probe(target: string, params:
/// list<tuple<string, string>>)` returning what `collect` returns. Checked
/// at load, so that a wrong one refuses the file naming the export, rather
/// than failing every instantiation later.
pub fn check_prober(
    component: &wasmtime::component::Component,
    prober: &str,
    collector: &str,
) -> wasmtime::Result<()> {
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
    if ty.get_export(engine, prober).is_none() {
        return Ok(());
    }
    let checked = func(prober, "probe").and_then(|probe| {
        let collect = func(collector, "collect")?;
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
                "{prober}: probe has the wrong type; the contract's is func(target: string, params: list<tuple<string, string>>) -> result<collection, collect-error>"
            ))
        }
    });
    checked.map_err(|why| wasmtime::format_err!("{why}"))
}

/// Stamps out one prober-era version in its file: `$contract` in the
/// dispatch, its prepared component and live instance. The file provides
/// `Plugin`, `PluginPre` and `types` (its bindings) and the constants
/// `VERSION`, `PROBER` and `COLLECTOR`.
macro_rules! prober_version {
    ($contract:ident) => {
        use futures::FutureExt as _;
        use futures::future::BoxFuture;
        use wasmtime::component::{ComponentExportIndex, HasSelf, InstancePre, Linker, TypedFunc};

        use crate::exposition::model::{Histogram, Native, NativeBucket};
        use crate::runtime::state::StoreState;

        converter!(
            natives,
            wit::SampleValue::NativeHistogram(i) => Value::Histogram(Box::new(natives.take(i))),
            wit::SampleValue::NativeGaugeHistogram(i) => {
                Value::GaugeHistogram(Box::new(natives.take(i)))
            }
        );

        $crate::runtime::contract::lift::fast_lift!();

        /// A native histogram: its classic buckets (if any) beside the
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

        /// This version in the dispatch.
                pub struct $contract;

        impl super::Contract for $contract {
            fn version(&self) -> Version {
                Version(VERSION)
            }

            fn link(&self, linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
                Plugin::add_to_linker::<StoreState, HasSelf<StoreState>>(linker, |s| s)
            }

            fn prepare(&self, pre: InstancePre<StoreState>) -> wasmtime::Result<super::PluginPre> {
                let component = pre.component();
                super::prober::check_prober(component, PROBER, COLLECTOR)?;
                let probe = component
                    .get_export_index(None, PROBER)
                    .and_then(|iface| component.get_export_index(Some(&iface), "probe"));
                let collect = component
                    .get_export_index(None, COLLECTOR)
                    .and_then(|iface| component.get_export_index(Some(&iface), "collect"));
                // Checks the world: a component without `collect` fails here.
                let pre = PluginPre::new(pre)?;
                let collect =
                    collect.ok_or_else(|| wasmtime::format_err!("{COLLECTOR}: no collect"))?;
                Ok(super::PluginPre::new(PluginPreV {
                    pre,
                    collect,
                    probe,
                }))
            }
        }

        /// `prober.probe`, typed, its result lifted into the model.
        type ProbeFunc =
            TypedFunc<(String, Vec<(String, String)>), (Result<fast::Collection, types::CollectError>,)>;

        /// `collector.collect`, typed, its result lifted into the model.
        type CollectFunc = TypedFunc<(), (Result<fast::Collection, types::CollectError>,)>;

        /// A checked this version's component, with the index of its `probe` function when
        /// it exports the prober interface.
        struct PluginPreV {
            pre: PluginPre<StoreState>,
            collect: ComponentExportIndex,
            probe: Option<ComponentExportIndex>,
        }

        /// A live this version's instance: the plugin world's exports, and `prober.probe`
        /// when it exports it.
        struct ExportsV {
            plugin: Plugin,
            collect: CollectFunc,
            probe: Option<ProbeFunc>,
        }

        impl Prepared for PluginPreV {
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
                    let instance = self
                        .pre
                        .instance_pre()
                        .instantiate_async(&mut *store)
                        .await?;
                    let plugin = Plugin::new(&mut *store, &instance)?;
                    // Their types are checked here, once per instance: a
                    // `probe` of another shape fails to instantiate, as a bad
                    // collector does.
                    let collect: CollectFunc = instance.get_typed_func(&mut *store, self.collect)?;
                    let probe: Option<ProbeFunc> = match self.probe {
                        Some(index) => Some(instance.get_typed_func(&mut *store, index)?),
                        None => None,
                    };
                    Ok(Bindings::new(ExportsV {
                        plugin,
                        collect,
                        probe,
                    }))
                }
                .boxed()
            }
        }

        impl super::Exports for ExportsV {
            collector_calls!(plugin);

            fn collect<'a>(
                &'a self,
                store: &'a mut wasmtime::Store<StoreState>,
            ) -> BoxFuture<'a, Called<Collected>> {
                async move {
                    let (r,) = self.collect.call_async(store, ()).await?;
                    Ok(r.map(Collected::new).map_err(|e| e.message))
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

    };
}

pub(crate) use prober_version;
