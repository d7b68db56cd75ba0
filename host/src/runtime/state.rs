//! What each plugin's `Store` holds: its WASI context (nothing granted but
//! its read-only directories), the memory limiter, the call deadline and the
//! fetch grants. The host functions it may call are implemented beside
//! their interfaces (`host.rs`, `fetch/`).

use std::sync::Arc;
use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::dirs::DirGrants;
use super::fetch::context::FetchContext;
use super::host::LogBudget;
use super::limits::{Limits, MAX_INSTANCES, MAX_MEMORIES, MAX_TABLE_ELEMENTS, MAX_TABLES};
use super::output::OutputCapture;

/// Enforces a plugin's memory limit and remembers that it was hit, so that
/// the trap that follows is reported as `memory`.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    /// Set once the guest asked for more than `limit`.
    pub exceeded: bool,
    /// Size of the plugin's largest linear memory, in bytes (memories only
    /// grow, so this is also its peak).
    pub size: usize,
}

impl MemoryLimiter {
    /// A limiter allowing `limit` bytes per linear memory.
    pub fn new(limit: u64) -> Self {
        MemoryLimiter {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            exceeded: false,
            size: 0,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            return Ok(false);
        }
        self.size = self.size.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// The data of one plugin instance's `Store`.
pub struct StoreState {
    /// The plugin's name, for log records.
    pub plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    /// Memory limit enforcement.
    pub limiter: MemoryLimiter,
    /// When the current call must end.
    pub deadline: Instant,
    /// Set when the epoch callback stopped the guest at the deadline.
    pub timed_out: bool,
    /// Grants and limits of the `fetch` capability.
    pub fetch: FetchContext,
    /// Granted directories that could not be opened for this instance.
    pub unmounted: Vec<String>,
    /// What the plugin may still log in this call.
    pub log: LogBudget,
}

impl StoreState {
    /// State for a new instance of `plugin`. The WASI context grants nothing
    /// but `dirs`, read-only: no other directories, no environment, no
    /// arguments, no sockets and no name lookups; stdout and stderr go to
    /// `output`.
    pub fn new(
        plugin: Arc<str>,
        limits: &Limits,
        handles: usize,
        output: &OutputCapture,
        fetch: FetchContext,
        dirs: &DirGrants,
    ) -> Self {
        let mut builder = WasiCtx::builder();
        builder
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let unmounted = dirs.mount(&mut builder, &plugin);
        let wasi = builder.build();
        // Every open file, directory and stream of the plugin is an entry
        // here: the cap is its descriptor budget.
        let mut table = ResourceTable::new();
        table.set_max_capacity(handles);
        StoreState {
            unmounted,
            plugin,
            wasi,
            table,
            log: LogBudget::new(limits.max_log_bytes),
            limiter: MemoryLimiter::new(limits.memory),
            deadline: Instant::now(),
            timed_out: false,
            fetch,
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
