//! The one wasmtime `Engine` (epoch interruption on, a ticker thread) and the
//! `Linker` shared by every plugin.

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use super::cache::{ComponentCache, Lookup};
use super::contract::{self, PluginPre};
use super::error::error_chain;
use super::handles::HandlePool;
use super::limits::EPOCH_TICK;
use super::state::StoreState;

/// Errors setting up the runtime or compiling a plugin.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The engine or linker could not be built.
    #[error("setting up wasmtime: {0}")]
    Setup(String),
    /// The bytes are not a valid component.
    #[error("not a valid WebAssembly component: {0}")]
    Compile(String),
    /// The component's imports or exports do not fit the plugin world.
    #[error("does not fit the wasm-exporter:plugin world: {0}")]
    Link(String),
    /// The component was built for a version of the contract this host
    /// does not know.
    #[error("{0}")]
    Version(String),
}

/// The engine and linker all plugins share.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linker: std::sync::Arc<Linker<StoreState>>,
    cache: Option<std::sync::Arc<ComponentCache>>,
    handles: std::sync::Arc<HandlePool>,
}

impl Runtime {
    /// Builds the engine, starts its epoch ticker, and links WASI 0.2 (which
    /// grants nothing by itself; see [`StoreState::new`]) and the host
    /// interface.
    pub fn new() -> Result<Self, RuntimeError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(|e| RuntimeError::Setup(error_chain(&e)))?;

        let weak = engine.weak();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| RuntimeError::Setup(format!("starting the epoch ticker: {e}")))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError::Setup(error_chain(&e)))?;
        // Every contract version's imports, side by side: their names carry
        // the version, so a plugin links to the one it was built for.
        contract::link_all(&mut linker).map_err(|e| RuntimeError::Setup(error_chain(&e)))?;
        Ok(Runtime {
            engine,
            linker: std::sync::Arc::new(linker),
            cache: None,
            handles: HandlePool::for_process(),
        })
    }

    /// The same, keeping compiled plugins in `dir` (`--plugins.cache-dir`).
    /// A cache that cannot be used never stops the exporter: it runs
    /// without one, saying so once.
    pub fn with_cache_dir(dir: &std::path::Path) -> Result<Self, RuntimeError> {
        let mut runtime = Self::new()?;
        match ComponentCache::open(dir, &runtime.engine) {
            Ok(cache) => {
                tracing::info!(dir = %cache.dir().display(), "compiled plugins are cached");
                runtime.cache = Some(std::sync::Arc::new(cache));
            }
            Err(e) => {
                tracing::warn!("plugin cache off, every start compiles the plugins afresh: {e}")
            }
        }
        Ok(runtime)
    }

    /// The shared engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The file descriptors plugin instances may hold, all together.
    pub fn handles(&self) -> &std::sync::Arc<HandlePool> {
        &self.handles
    }

    /// Compiles a component (or loads it from the cache) and checks it
    /// against the world of the contract version it was built for, ready
    /// for fast instantiation.
    pub fn prepare(&self, wasm: &[u8]) -> Result<(PluginPre, Lookup), RuntimeError> {
        let compile = || {
            Component::new(&self.engine, wasm).map_err(|e| {
                let mut why = error_chain(&e);
                if is_core_module(wasm) {
                    why.push_str(
                        "; this is a core module, not a component: build for wasm32-wasip2 (cargo build --target wasm32-wasip2), or make a component of it with componentize-py, componentize-js or wit-component",
                    );
                }
                RuntimeError::Compile(why)
            })
        };
        let (component, lookup) = match &self.cache {
            Some(cache) => cache.get_or_compile(&self.engine, wasm, compile)?,
            None => (compile()?, Lookup::Off),
        };
        let contract =
            contract::version_of(&component, &self.engine).map_err(RuntimeError::Version)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| RuntimeError::Link(error_chain(&e)))?;
        let pre = contract
            .prepare(pre)
            .map_err(|e| RuntimeError::Link(error_chain(&e)))?;
        Ok((pre, lookup))
    }
}

/// Whether `bytes` start as a core WebAssembly module (version 1), not a
/// component (whose header carries the component layer).
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm\x01\0\0\0")
}
