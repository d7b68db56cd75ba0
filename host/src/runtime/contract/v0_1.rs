//! `wasm-exporter:plugin@0.1.0`: every kind but native histograms, frozen
//! under `host/wit/v0.1.0/`. Its imports are mapped onto the host's `log`
//! and `fetch`.

use futures::FutureExt as _;
use futures::future::BoxFuture;
use wasmtime::component::{HasSelf, InstancePre, Linker};

use super::convert::{
    Natives, collector_calls, converter, generated_collect, imports, socket_era_fetch,
};
use super::{Bindings, Called, Collected, Lifted, Prepared, Version};
use crate::exposition::model::{Family, LabelValues, Series, Times};
use crate::exposition::raw::{RawCollection, RawFamily};
use crate::runtime::state::StoreState;

/// What `bindgen!` generates from the frozen WIT, in a module of its own
/// so that generated names never clash with ours.
#[allow(missing_docs, unsafe_code, unused_variables, clippy::all)]
mod generated {
    wasmtime::component::bindgen!({
        path: "wit/v0.1.0",
        world: "plugin",
        imports: { "wasm-exporter:plugin/fetch.fetch": async },
        exports: { default: async },
    });
}

pub use generated::exports::wasm_exporter::plugin::collector;
pub use generated::wasm_exporter::plugin::{fetch, host, types};
use generated::{Plugin, PluginPre};

/// The version, as in the package name.
pub const VERSION: &str = "0.1.0";

converter!(natives,);

/// 0.1.0 in the dispatch.
pub struct Contract0_1;

impl super::Contract for Contract0_1 {
    fn version(&self) -> Version {
        Version(VERSION)
    }

    fn link(&self, linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
        Plugin::add_to_linker::<StoreState, HasSelf<StoreState>>(linker, |s| s)
    }

    fn prepare(&self, pre: InstancePre<StoreState>) -> wasmtime::Result<super::PluginPre> {
        Ok(super::PluginPre::new(PluginPre0_1(PluginPre::new(pre)?)))
    }
}

struct PluginPre0_1(PluginPre<StoreState>);

impl Prepared for PluginPre0_1 {
    fn version(&self) -> Version {
        Version(VERSION)
    }

    fn probes(&self) -> bool {
        false
    }

    fn instantiate<'a>(
        &'a self,
        store: &'a mut wasmtime::Store<StoreState>,
    ) -> BoxFuture<'a, wasmtime::Result<Bindings>> {
        async move { Ok(Bindings::new(self.0.instantiate_async(store).await?)) }.boxed()
    }
}

impl super::Exports for Plugin {
    collector_calls!();
    generated_collect!();

    fn probe<'a>(
        &'a self,
        _: &'a mut wasmtime::Store<StoreState>,
        _: &'a str,
        _: &'a [(String, String)],
    ) -> Option<BoxFuture<'a, Called<Collected>>> {
        None
    }
}

/// 0.1.0's returned collection, as its bindings lifted it, counted and
/// moved into the host's types (the later versions lift straight into
/// them: `contract::lift`). Nothing is checked here: the label-value
/// indices stay as they came, for validation.
impl Lifted for types::Collection {
    fn families(&self) -> usize {
        self.families.len()
    }

    fn series(&self) -> usize {
        self.families.iter().map(|f| f.series.len()).sum()
    }

    fn into_raw(self: Box<Self>) -> RawCollection {
        RawCollection {
            strings: self.strings.into_iter().map(Into::into).collect(),
            families: self.families.into_iter().map(family).collect(),
        }
    }
}

fn family(f: types::MetricFamily) -> RawFamily {
    // 0.1.0 has no native histograms.
    let mut natives = Natives::default();
    let series = f
        .series
        .into_iter()
        .map(|s| Series {
            label_values: LabelValues::new(),
            value: convert::value(s.value, &mut natives),
            times: Times::boxed(
                s.timestamp.map(convert::timestamp),
                s.created.map(convert::timestamp),
            ),
        })
        .collect();
    RawFamily {
        family: Family {
            name: f.name,
            help: f.help,
            unit: f.unit,
            kind: convert::kind(f.kind),
            label_names: f.label_names,
            series: std::sync::Arc::new(series),
        },
        label_indices: f.label_values,
        native_error: natives.error,
    }
}

socket_era_fetch!();

imports!();
