//! The versions of the contract this host speaks, side by side: which one a
//! component was built for (from the collector interface it exports), and
//! calls into it whatever its version. Each version's output is moved into
//! the one model by [`super::convert`]; an older plugin never produces the
//! newer cases, so nothing else in the host knows versions exist.

use wasmtime::Engine;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, TypedFunc};

use super::bindings::{v0_1, v0_2};
use super::convert;
use super::state::StoreState;
use crate::exposition::raw::RawCollection;

/// The package every version shares.
pub const PACKAGE: &str = "wasm-exporter:plugin";

/// A version of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `0.1.0`: every kind but native histograms.
    V0_1,
    /// `0.2.0`: native histograms, UTF-8 names.
    V0_2,
}

impl Version {
    /// The version `plugin new` and the SDKs build for.
    pub const CURRENT: Version = Version::V0_2;

    /// The version, as in the package name.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V0_1 => "0.1.0",
            Version::V0_2 => "0.2.0",
        }
    }

    fn of(major: u64, minor: u64) -> Option<Self> {
        match (major, minor) {
            (0, 1) => Some(Version::V0_1),
            (0, 2) => Some(Version::V0_2),
            _ => None,
        }
    }
}

/// The versions this host knows, for messages: `0.1.0 and 0.2.0`.
pub fn known() -> String {
    format!(
        "{PACKAGE}@{} and @{}",
        Version::V0_1.as_str(),
        Version::CURRENT.as_str()
    )
}

/// Which version `component` was built for, from the version of the
/// collector interface it exports. A component exporting none is taken for
/// the current version, so that linking says what is missing.
pub fn version_of(component: &Component, engine: &Engine) -> Result<Version, String> {
    let prefix = format!("{PACKAGE}/collector@");
    let ty = component.component_type();
    let Some(text) = ty
        .exports(engine)
        .find_map(|(name, _)| name.strip_prefix(&prefix).map(str::to_owned))
    else {
        return Ok(Version::CURRENT);
    };
    let mut parts = text.split(['.', '-', '+']).map(|p| p.parse::<u64>());
    let (major, minor) = match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor),
        _ => return Err(format!("exports {prefix}{text}, not a version")),
    };
    if let Some(version) = Version::of(major, minor) {
        return Ok(version);
    }
    let newer = (major, minor) > (0, 2);
    Err(if newer {
        format!(
            "built for {PACKAGE}@{text}, newer than this host knows ({}); upgrade wasm_exporter, or build the plugin against @{}",
            known(),
            Version::CURRENT.as_str()
        )
    } else {
        format!(
            "built for {PACKAGE}@{text}, which this host does not know ({})",
            known()
        )
    })
}

/// The interface a plugin exports to answer `/probe` (0.2.0's
/// `probe-plugin` world).
pub const PROBER: &str = "wasm-exporter:plugin/prober@0.2.0";

/// A component linked and checked against its version's world, ready to
/// instantiate.
#[derive(Clone)]
pub enum PluginPre {
    /// Built for 0.1.0.
    V0_1(v0_1::PluginPre<StoreState>),
    /// Built for 0.2.0; with the index of its `probe` function when it
    /// exports the prober interface.
    V0_2(v0_2::PluginPre<StoreState>, Option<ComponentExportIndex>),
}

/// `prober.probe`, typed.
type ProbeFunc = TypedFunc<
    (String, Vec<(String, String)>),
    (Result<v0_2::types::Collection, v0_2::types::CollectError>,),
>;

impl PluginPre {
    /// Checks `pre` against the world of `version`.
    pub fn new(pre: InstancePre<StoreState>, version: Version) -> wasmtime::Result<Self> {
        Ok(match version {
            Version::V0_1 => PluginPre::V0_1(v0_1::PluginPre::new(pre)?),
            Version::V0_2 => {
                let component = pre.component();
                let probe = component
                    .get_export_index(None, PROBER)
                    .and_then(|iface| component.get_export_index(Some(&iface), "probe"));
                PluginPre::V0_2(v0_2::PluginPre::new(pre)?, probe)
            }
        })
    }

    /// Whether the component exports the prober interface (`/probe`).
    pub fn probes(&self) -> bool {
        matches!(self, PluginPre::V0_2(_, Some(_)))
    }

    /// The contract version the component was built for.
    pub fn version(&self) -> Version {
        match self {
            PluginPre::V0_1(_) => Version::V0_1,
            PluginPre::V0_2(..) => Version::V0_2,
        }
    }

    /// Instantiates the component in `store`.
    pub async fn instantiate_async(
        &self,
        store: &mut wasmtime::Store<StoreState>,
    ) -> wasmtime::Result<Bindings> {
        Ok(match self {
            PluginPre::V0_1(pre) => Bindings::V0_1(pre.instantiate_async(store).await?),
            PluginPre::V0_2(pre, None) => Bindings::V0_2(pre.instantiate_async(store).await?, None),
            PluginPre::V0_2(pre, Some(probe)) => {
                let instance = pre.instance_pre().instantiate_async(&mut *store).await?;
                let plugin = v0_2::Plugin::new(&mut *store, &instance)?;
                // Its type is checked here, once per instance: a `probe` of
                // another shape fails to instantiate, as a bad collector does.
                let probe: ProbeFunc = instance.get_typed_func(&mut *store, probe)?;
                Bindings::V0_2(plugin, Some(probe))
            }
        })
    }
}

/// A live instance's exports, of whichever version.
pub enum Bindings {
    /// 0.1.0.
    V0_1(v0_1::Plugin),
    /// 0.2.0, with `prober.probe` when it exports it.
    V0_2(v0_2::Plugin, Option<ProbeFunc>),
}

/// Metadata a plugin reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Plugin name (its package name).
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// One-line description.
    pub description: String,
}

/// Why `init` refused, in the current version's words.
pub type InitError = v0_2::types::InitError;

/// What one `collect` returned, still in its version's types: the caps are
/// checked on it before anything is converted.
pub enum Collected {
    /// From a 0.1.0 plugin.
    V0_1(v0_1::types::Collection),
    /// From a 0.2.0 plugin.
    V0_2(v0_2::types::Collection),
}

impl Collected {
    /// Families returned.
    pub fn families(&self) -> usize {
        match self {
            Collected::V0_1(c) => c.families.len(),
            Collected::V0_2(c) => c.families.len(),
        }
    }

    /// Series returned, in all families.
    pub fn series(&self) -> usize {
        match self {
            Collected::V0_1(c) => c.families.iter().map(|f| f.series.len()).sum(),
            Collected::V0_2(c) => c.families.iter().map(|f| f.series.len()).sum(),
        }
    }

    /// Moves it into the host's model.
    pub fn into_raw(self) -> RawCollection {
        match self {
            Collected::V0_1(c) => convert::v0_1::collection(c),
            Collected::V0_2(c) => convert::v0_2::collection(c),
        }
    }
}

type Store<'a> = &'a mut wasmtime::Store<StoreState>;

impl Bindings {
    /// Calls `metadata`.
    pub async fn metadata(&self, store: Store<'_>) -> wasmtime::Result<Metadata> {
        macro_rules! metadata {
            ($m:expr) => {{
                let m = $m;
                Metadata {
                    name: m.name,
                    version: m.version,
                    description: m.description,
                }
            }};
        }
        Ok(match self {
            Bindings::V0_1(p) => {
                metadata!(
                    p.wasm_exporter_plugin_collector()
                        .call_metadata(store)
                        .await?
                )
            }
            Bindings::V0_2(p, _) => {
                metadata!(
                    p.wasm_exporter_plugin_collector()
                        .call_metadata(store)
                        .await?
                )
            }
        })
    }

    /// Calls `init` with the config as JSON.
    pub async fn init(
        &self,
        store: Store<'_>,
        config: &str,
    ) -> wasmtime::Result<Result<(), InitError>> {
        Ok(match self {
            Bindings::V0_1(p) => {
                use v0_1::types::InitError as Old;
                let r = p
                    .wasm_exporter_plugin_collector()
                    .call_init(store, config)
                    .await?;
                r.map_err(|e| match e {
                    Old::InvalidConfig(m) => InitError::InvalidConfig(m),
                    Old::Failed(m) => InitError::Failed(m),
                })
            }
            Bindings::V0_2(p, _) => {
                p.wasm_exporter_plugin_collector()
                    .call_init(store, config)
                    .await?
            }
        })
    }

    /// Calls `collect`; a `collect-error` is its message.
    pub async fn collect(&self, store: Store<'_>) -> wasmtime::Result<Result<Collected, String>> {
        Ok(match self {
            Bindings::V0_1(p) => p
                .wasm_exporter_plugin_collector()
                .call_collect(store)
                .await?
                .map(Collected::V0_1)
                .map_err(|e| e.message),
            Bindings::V0_2(p, _) => p
                .wasm_exporter_plugin_collector()
                .call_collect(store)
                .await?
                .map(Collected::V0_2)
                .map_err(|e| e.message),
        })
    }

    /// Calls `probe` for `target`; `None` when the plugin does not export
    /// it.
    pub async fn probe(
        &self,
        store: Store<'_>,
        target: &str,
        params: &[(String, String)],
    ) -> Option<wasmtime::Result<Result<Collected, String>>> {
        let Bindings::V0_2(_, Some(probe)) = self else {
            return None;
        };
        let called = probe
            .call_async(store, (target.to_owned(), params.to_vec()))
            .await;
        Some(called.map(|(r,)| r.map(Collected::V0_2).map_err(|e| e.message)))
    }
}
