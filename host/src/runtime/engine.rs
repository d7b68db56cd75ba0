//! The one wasmtime `Engine` (epoch interruption on, a ticker thread) and the
//! `Linker` shared by every plugin.

use std::io::Write as _;
use std::path::{Path, PathBuf};

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

/// The first argument that makes the binary a compiler for its parent
/// (see [`Runtime::compiling_in_child`]): the `.wasm` on stdin, the
/// compiled component on stdout.
pub const COMPILE_COMMAND: &str = "__compile";

/// The engine and linker all plugins share.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linker: std::sync::Arc<Linker<StoreState>>,
    cache: Option<std::sync::Arc<ComponentCache>>,
    handles: std::sync::Arc<HandlePool>,
    /// The binary that compiles components in a child process, if any.
    compiler: Option<PathBuf>,
}

/// The engine's settings: the same in the exporter and in a compiling
/// child, whose output must load here.
fn engine_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    // For profiling (make bench): name the plugins' compiled functions in
    // /tmp/perf-PID.map, which perf reads. Changes no compiled code.
    if std::env::var_os(PERF_MAP_ENV).is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// With this set to `1`, the plugins' compiled functions are named in
/// `/tmp/perf-PID.map` for `perf` (guest code is otherwise bare addresses).
pub const PERF_MAP_ENV: &str = "WASM_EXPORTER_PERF_MAP";

/// What the child does ([`COMPILE_COMMAND`]): compiles `wasm` with the
/// exporter's engine settings into the form [`Component::deserialize`]
/// loads.
pub fn precompile(wasm: &[u8]) -> Result<Vec<u8>, RuntimeError> {
    let engine = Engine::new(&engine_config()).map_err(|e| RuntimeError::Setup(error_chain(&e)))?;
    engine
        .precompile_component(wasm)
        .map_err(|e| compile_error(wasm, &e))
}

/// A compile failure, with a hint when `wasm` is a core module.
fn compile_error(wasm: &[u8], e: &wasmtime::Error) -> RuntimeError {
    let mut why = error_chain(e);
    if is_core_module(wasm) {
        why.push_str(
            "; this is a core module, not a component: build for wasm32-wasip2 (cargo build --target wasm32-wasip2), or make a component of it with componentize-py, componentize-js or wit-component",
        );
    }
    RuntimeError::Compile(why)
}

impl Runtime {
    /// Builds the engine, starts its epoch ticker, and links WASI 0.2 (which
    /// grants nothing by itself; see [`StoreState::new`]) and the host
    /// interface.
    pub fn new() -> Result<Self, RuntimeError> {
        let engine =
            Engine::new(&engine_config()).map_err(|e| RuntimeError::Setup(error_chain(&e)))?;

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
            compiler: None,
        })
    }

    /// Compiles components in a child process running `exe` (this binary)
    /// with [`COMPILE_COMMAND`], so that the compiler's memory goes back to
    /// the system when the child exits; only the compiled code is mapped
    /// here. Cranelift's heap is kept by the allocator once freed: half a
    /// gigabyte for an interpreter inside a component (Python, JavaScript:
    /// 10-20 MB), 16 MiB for the haproxy plugin (300 KB), which would
    /// otherwise double the exporter's resident memory at rest.
    pub fn compiling_in_child(mut self, exe: PathBuf) -> Self {
        self.compiler = Some(exe);
        self
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
        let compile = || match &self.compiler {
            Some(exe) => self.compile_in_child(exe, wasm),
            _ => Component::new(&self.engine, wasm).map_err(|e| compile_error(wasm, &e)),
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

impl Runtime {
    /// Compiles `wasm` in a child process (see [`Self::compiling_in_child`])
    /// and loads what it wrote. A child that cannot be started (the binary
    /// replaced on disk by an upgrade) leaves the compile to this process.
    fn compile_in_child(&self, exe: &Path, wasm: &[u8]) -> Result<Component, RuntimeError> {
        let child = std::process::Command::new(exe)
            .arg(COMPILE_COMMAND)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => {
                tracing::warn!(exe = %exe.display(), "cannot start a compiler process, compiling here: {e}");
                return Component::new(&self.engine, wasm).map_err(|e| compile_error(wasm, &e));
            }
        };
        // The child reads all of stdin before it writes anything.
        let sent = child.stdin.take().map(|mut stdin| stdin.write_all(wasm));
        let out = child
            .wait_with_output()
            .map_err(|e| RuntimeError::Compile(format!("compiler process: {e}")))?;
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(RuntimeError::Compile(if why.is_empty() {
                format!("compiler process failed ({})", out.status)
            } else {
                why
            }));
        }
        if let Some(Err(e)) = sent {
            return Err(RuntimeError::Compile(format!("compiler process: {e}")));
        }
        // SAFETY: wasmtime requires the bytes to come from its own
        // `precompile_component` with a compatible engine. They do: the
        // child is this binary (`current_exe`), which compiled them with
        // `engine_config()`, as this engine was built; wasmtime checks its
        // version and settings itself and errors on a mismatch.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(&self.engine, &out.stdout) };
        component.map_err(|e| {
            RuntimeError::Compile(format!(
                "loading the compiled component: {}",
                error_chain(&e)
            ))
        })
    }
}

/// Whether `bytes` start as a core WebAssembly module (version 1), not a
/// component (whose header carries the component layer).
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm\x01\0\0\0")
}
