//! The versions of the contract this host speaks, side by side. Each version
//! is one file: its bindings, the conversion of what it returns into the
//! host's model, the host's imports in its words, and the checks of its
//! exports. [`VERSIONS`] is the dispatch, one line per version; nothing
//! outside this folder knows that versions exist.

mod convert;
mod lift;
mod prober;
pub mod v0_1;
pub mod v0_2;
pub mod v0_3;

use std::sync::Arc;

use futures::future::BoxFuture;
use wasmtime::Engine;
use wasmtime::component::{Component, InstancePre, Linker};

use super::state::StoreState;
use crate::exposition::raw::RawCollection;

/// The current version's bindings.
pub use v0_3 as current;

/// The package every version shares.
pub const PACKAGE: &str = "wasm-exporter:plugin";

/// The interface a plugin exports to answer `/probe`.
pub const PROBER: &str = v0_3::PROBER;

/// A version of the contract, as in the package name (`0.3.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(&'static str);

impl Version {
    /// The version `plugin new` and the SDKs build for: the newest.
    pub const CURRENT: Version = Version(v0_3::VERSION);

    /// The version, as in the package name.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Its major and minor numbers.
    fn numbers(self) -> (u64, u64) {
        let mut parts = self.0.split('.').map(|p| p.parse().unwrap_or(u64::MAX));
        (
            parts.next().unwrap_or(u64::MAX),
            parts.next().unwrap_or(u64::MAX),
        )
    }
}

/// One version of the contract, as the host speaks it.
pub trait Contract: Sync {
    /// Which version.
    fn version(&self) -> Version;
    /// Adds the host's imports in this version's words to `linker` (their
    /// names carry the version, so the versions sit side by side).
    fn link(&self, linker: &mut Linker<StoreState>) -> wasmtime::Result<()>;
    /// Checks a linked component's exports against this version's world.
    fn prepare(&self, pre: InstancePre<StoreState>) -> wasmtime::Result<PluginPre>;
}

/// Every version this host speaks, oldest first: the dispatch. A new
/// version is one new file and one line here.
pub const VERSIONS: [&dyn Contract; 3] =
    [&v0_1::Contract0_1, &v0_2::Contract0_2, &v0_3::Contract0_3];

/// The versions this host knows, for messages: `...@0.1.0, @0.2.0 and @0.3.0`.
pub fn known() -> String {
    let versions: Vec<String> = VERSIONS
        .iter()
        .map(|c| format!("@{}", c.version().as_str()))
        .collect();
    let listed = match versions.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => versions.join(""),
    };
    format!("{PACKAGE}{listed}")
}

/// Adds every version's imports to `linker`.
pub fn link_all(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    VERSIONS.iter().try_for_each(|c| c.link(linker))
}

/// Which version `component` was built for, from the version of the
/// collector interface it exports. A component exporting none is taken for
/// the current version, so that linking says what is missing.
pub fn version_of(component: &Component, engine: &Engine) -> Result<&'static dyn Contract, String> {
    let current = VERSIONS[VERSIONS.len() - 1];
    let prefix = format!("{PACKAGE}/collector@");
    let ty = component.component_type();
    let Some(text) = ty
        .exports(engine)
        .find_map(|(name, _)| name.strip_prefix(&prefix).map(str::to_owned))
    else {
        return Ok(current);
    };
    let mut parts = text.split(['.', '-', '+']).map(|p| p.parse::<u64>());
    let (major, minor) = match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor),
        _ => return Err(format!("exports {prefix}{text}, not a version")),
    };
    if let Some(contract) = VERSIONS
        .iter()
        .find(|c| c.version().numbers() == (major, minor))
    {
        return Ok(*contract);
    }
    Err(if (major, minor) > current.version().numbers() {
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
pub type InitError = current::types::InitError;

type Store<'a> = &'a mut wasmtime::Store<StoreState>;

/// What a call returned: the guest's own error message, or its result.
pub type Called<T> = wasmtime::Result<Result<T, String>>;

/// A component checked against its version's world, ready to instantiate.
#[derive(Clone)]
pub struct PluginPre(Arc<dyn Prepared>);

/// One version's side of [`PluginPre`].
pub trait Prepared: Send + Sync {
    /// The version the component was built for.
    fn version(&self) -> Version;
    /// Whether it exports the prober interface.
    fn probes(&self) -> bool;
    /// Instantiates it in `store`.
    fn instantiate<'a>(&'a self, store: Store<'a>) -> BoxFuture<'a, wasmtime::Result<Bindings>>;
}

impl PluginPre {
    /// Wraps one version's prepared component.
    pub fn new(prepared: impl Prepared + 'static) -> Self {
        PluginPre(Arc::new(prepared))
    }

    /// Whether the component exports the prober interface (`/probe`).
    pub fn probes(&self) -> bool {
        self.0.probes()
    }

    /// The contract version the component was built for.
    pub fn version(&self) -> Version {
        self.0.version()
    }

    /// Instantiates the component in `store`.
    pub async fn instantiate_async(&self, store: Store<'_>) -> wasmtime::Result<Bindings> {
        self.0.instantiate(store).await
    }
}

/// A live instance's exports, whatever its version.
pub struct Bindings(Box<dyn Exports>);

/// One version's calls into a live instance.
pub trait Exports: Send + Sync {
    /// Calls `metadata`.
    fn metadata<'a>(&'a self, store: Store<'a>) -> BoxFuture<'a, wasmtime::Result<Metadata>>;
    /// Calls `init` with the config as JSON.
    fn init<'a>(
        &'a self,
        store: Store<'a>,
        config: &'a str,
    ) -> BoxFuture<'a, wasmtime::Result<Result<(), InitError>>>;
    /// Calls `collect`.
    fn collect<'a>(&'a self, store: Store<'a>) -> BoxFuture<'a, Called<Collected>>;
    /// Calls `probe`; `None` when the plugin does not export it.
    fn probe<'a>(
        &'a self,
        store: Store<'a>,
        target: &'a str,
        params: &'a [(String, String)],
    ) -> Option<BoxFuture<'a, Called<Collected>>>;
}

impl Bindings {
    /// Wraps one version's exports.
    pub fn new(exports: impl Exports + 'static) -> Self {
        Bindings(Box::new(exports))
    }

    /// Calls `metadata`.
    pub async fn metadata(&self, store: Store<'_>) -> wasmtime::Result<Metadata> {
        self.0.metadata(store).await
    }

    /// Calls `init` with the config as JSON.
    pub async fn init(
        &self,
        store: Store<'_>,
        config: &str,
    ) -> wasmtime::Result<Result<(), InitError>> {
        self.0.init(store, config).await
    }

    /// Calls `collect`; a `collect-error` is its message.
    pub async fn collect(&self, store: Store<'_>) -> Called<Collected> {
        self.0.collect(store).await
    }

    /// Calls `probe` for `target`; `None` when the plugin does not export
    /// it.
    pub async fn probe(
        &self,
        store: Store<'_>,
        target: &str,
        params: &[(String, String)],
    ) -> Option<Called<Collected>> {
        match self.0.probe(store, target, params) {
            Some(call) => Some(call.await),
            None => None,
        }
    }
}

/// What one `collect` returned, still in its version's types: the caps are
/// checked on it before anything is converted.
pub struct Collected(Box<dyn Lifted>);

/// One version's returned collection.
pub trait Lifted: Send {
    /// Families returned.
    fn families(&self) -> usize;
    /// Series returned, in all families.
    fn series(&self) -> usize;
    /// Moves it into the host's model.
    fn into_raw(self: Box<Self>) -> RawCollection;
}

impl Collected {
    /// Wraps one version's collection.
    pub fn new(lifted: impl Lifted + 'static) -> Self {
        Collected(Box::new(lifted))
    }

    /// Families returned.
    pub fn families(&self) -> usize {
        self.0.families()
    }

    /// Series returned, in all families.
    pub fn series(&self) -> usize {
        self.0.series()
    }

    /// Moves it into the host's model.
    pub fn into_raw(self) -> RawCollection {
        self.0.into_raw()
    }
}
