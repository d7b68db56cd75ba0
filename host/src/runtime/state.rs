//! What each plugin's `Store` holds: its WASI context (nothing granted), the
//! memory limiter, the call deadline, and the host functions it may call.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::{fetch, host, types};
use super::fetch::FetchContext;
use super::output::OutputCapture;

/// Longest log message a plugin may send through `host.log`, in bytes.
pub const MAX_LOG_MESSAGE: usize = 4096;

/// Enforces a plugin's memory limit and remembers that it was hit, so that
/// the trap that follows is reported as `memory`.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    /// Set once the guest asked for more than `limit`.
    pub exceeded: bool,
}

impl MemoryLimiter {
    /// A limiter allowing `limit` bytes per linear memory.
    pub fn new(limit: u64) -> Self {
        MemoryLimiter {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            exceeded: false,
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
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }

    fn instances(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
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
}

impl StoreState {
    /// State for a new instance of `plugin`. The WASI context grants nothing:
    /// no preopened directories, no environment, no arguments, no sockets and
    /// no name lookups; stdout and stderr go to `output`.
    pub fn new(
        plugin: Arc<str>,
        memory_limit: u64,
        output: &OutputCapture,
        fetch: FetchContext,
    ) -> Self {
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        StoreState {
            plugin,
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_limit),
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

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
}

impl host::Host for StoreState {
    fn log(&mut self, level: host::Level, mut message: String) {
        truncate(&mut message, MAX_LOG_MESSAGE);
        let plugin = &*self.plugin;
        match level {
            host::Level::Trace => tracing::trace!(plugin, "{message}"),
            host::Level::Debug => tracing::debug!(plugin, "{message}"),
            host::Level::Info => tracing::info!(plugin, "{message}"),
            host::Level::Warn => tracing::warn!(plugin, "{message}"),
            host::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

impl types::Host for StoreState {}

impl fetch::Host for StoreState {
    async fn fetch(
        &mut self,
        request: fetch::Request,
    ) -> Result<fetch::Response, fetch::FetchError> {
        self.fetch.fetch(&self.plugin, request, self.deadline).await
    }
}
