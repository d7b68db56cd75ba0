//! Every limit the host puts on a plugin, in one place, each with its
//! reason. Operators set the per-plugin ones in `NAME.yml` (`limits:`) or
//! with `--plugins.*` flags; the rest are fixed here.

use std::time::{Duration, Instant};

use crate::config::LimitsSpec;

/// The wasmtime the host is built on (pinned in Cargo.toml).
pub const WASMTIME_VERSION: &str = "48.0.8";

// --- Per-plugin limits: defaults for `limits:` in NAME.yml ---------------

/// Default linear memory cap (`--plugins.memory-limit`): room for a
/// collector of a few hundred thousand series, small enough that a runaway
/// plugin cannot take the machine.
pub const DEFAULT_MEMORY: u64 = 128 << 20;
/// Default deadline of one call (`--plugins.timeout`), under Prometheus'
/// default scrape timeout so that a slow plugin never fails the scrape.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on the series of one collect: above any real collector (the
/// haproxy plugin at 500 backends x 10 servers serves ~180k).
pub const DEFAULT_MAX_SERIES: usize = 1_000_000;
/// Default cap on the families of one collect. Each family costs the host
/// about 1 KiB beyond its series (names, help, merge bookkeeping, its lines
/// in the body), so a plugin returning a family per series would cost many
/// times its own memory limit; real collectors have hundreds.
pub const DEFAULT_MAX_FAMILIES: usize = 10_000;
// Default caps on one label value and one label name, in bytes (Prometheus
// has none; they keep one bad value from bloating every scrape). Shared with
// the SDK's `testing::check`.
pub use crate::exposition::validate::rules::{
    DEFAULT_MAX_LABEL_NAME_LENGTH, DEFAULT_MAX_LABEL_VALUE_LENGTH,
};
/// Default cap on what a plugin may write to stdout and stderr per call:
/// enough for a panic message and a backtrace, not for a log flood.
pub const DEFAULT_MAX_STDERR_BYTES: usize = 64 << 10;
/// Default number of `/probe` calls of one plugin at once: each needs an
/// instance of its own, within the plugin's memory limit.
pub const DEFAULT_PROBE_CONCURRENCY: usize = 4;

/// Default cap on what a plugin may log in one call (`host.log`, and the
/// host's lines about its failed fetches): a few hundred lines, not a
/// flood of the host's log.
pub const DEFAULT_MAX_LOG_BYTES: usize = 64 << 10;
/// Default cap on the WASI handles (open files, directories, streams) of
/// one instance: a collector that reads a directory of files one at a time
/// needs a few dozen.
pub const DEFAULT_MAX_OPEN_FILES: usize = 256;
/// File descriptors the host keeps for itself whatever the plugins ask:
/// listeners, connections, its own files, `fetch` sockets.
pub const HOST_RESERVED_FILES: u64 = 512;

/// Default cap on one `fetch` response: a HAProxy CSV at 500x10 is ~10 MB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 << 20;

// --- Fixed limits --------------------------------------------------------

/// Longest log message a plugin may send through `host.log`, in bytes.
pub const MAX_LOG_MESSAGE: usize = 4096;
/// Most table elements a plugin may grow a table to (function references;
/// a Rust component needs a few hundred).
pub const MAX_TABLE_ELEMENTS: usize = 1_000_000;
/// Most core instances in one plugin's Store: a Rust component has 3, a
/// JavaScript one a few more.
pub const MAX_INSTANCES: usize = 16;
/// Most tables in one plugin's Store.
pub const MAX_TABLES: usize = 16;
/// Most linear memories in one plugin's Store.
pub const MAX_MEMORIES: usize = 4;
/// Floor of wasmtime's per-call hostcall fuel, which caps what lifting one
/// call's result may allocate in the host (wasmtime's own default).
pub const MIN_HOSTCALL_FUEL: usize = 128 << 20;
/// Extra time past the deadline before the host abandons a call that the
/// epoch could not stop (a guest blocked inside a host call).
pub const BACKSTOP_GRACE: Duration = Duration::from_millis(250);
/// How often the epoch advances: the granularity of call deadlines, and how
/// often a running guest yields to the async executor.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// First wait after the second failure in a row; it doubles with each
/// further failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest wait between attempts at a plugin that keeps failing.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// What lifting one call's result may allocate in the host: twice the
/// plugin's memory limit (a lifted value costs about as much as in the
/// guest, plus per-item overhead), never below wasmtime's default. A
/// million series within a 128 MiB plugin lift to ~150 MiB.
pub fn hostcall_fuel(memory: u64) -> usize {
    usize::try_from(memory.saturating_mul(2))
        .unwrap_or(usize::MAX)
        .max(MIN_HOSTCALL_FUEL)
}

/// The wait before the next attempt after `failures` failures in a row.
pub fn backoff(failures: u32) -> Duration {
    if failures < 2 {
        return Duration::ZERO;
    }
    let exp = (failures - 2).min(16);
    BACKOFF_BASE.saturating_mul(1 << exp).min(BACKOFF_MAX)
}

/// Limits in force for one plugin, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Memory cap in bytes.
    pub memory: u64,
    /// Per-call deadline ceiling.
    pub timeout: Duration,
    /// Series cap per collect.
    pub max_series: usize,
    /// Family cap per collect.
    pub max_families: usize,
    /// Label value cap in bytes.
    pub max_label_value_length: usize,
    /// Label name cap in bytes.
    pub max_label_name_length: usize,
    /// Output cap per call in bytes.
    pub max_stderr_bytes: usize,
    /// Response cap of one fetch, in bytes.
    pub max_response_bytes: usize,
    /// Log cap per call, in bytes.
    pub max_log_bytes: usize,
    /// WASI handles one instance may hold.
    pub max_open_files: usize,
    /// `/probe` calls at once (instances for probes).
    pub probe_concurrency: usize,
}

impl Limits {
    /// Applies `spec` (a plugin's `limits:`) over the host-wide defaults
    /// (the flags). A plugin timeout longer than the host's is cut to the
    /// host's.
    pub fn resolve(spec: Option<&LimitsSpec>, host: &HostDefaults) -> Self {
        let spec = spec.cloned().unwrap_or_default();
        let bytes = |b: Option<u64>, default: usize| {
            b.map_or(default, |b| usize::try_from(b).unwrap_or(usize::MAX))
        };
        Limits {
            memory: spec.memory.unwrap_or(host.memory),
            timeout: spec.timeout.map_or(host.timeout, |t| t.min(host.timeout)),
            max_series: spec.max_series.unwrap_or(DEFAULT_MAX_SERIES),
            max_families: spec.max_families.unwrap_or(DEFAULT_MAX_FAMILIES),
            max_label_value_length: spec
                .max_label_value_length
                .unwrap_or(DEFAULT_MAX_LABEL_VALUE_LENGTH),
            max_label_name_length: spec
                .max_label_name_length
                .unwrap_or(DEFAULT_MAX_LABEL_NAME_LENGTH),
            max_stderr_bytes: bytes(spec.max_stderr_bytes, DEFAULT_MAX_STDERR_BYTES),
            max_response_bytes: bytes(spec.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES),
            max_log_bytes: bytes(spec.max_log_bytes, DEFAULT_MAX_LOG_BYTES),
            max_open_files: spec.max_open_files.unwrap_or(DEFAULT_MAX_OPEN_FILES).max(1),
            probe_concurrency: spec
                .probe_concurrency
                .unwrap_or(DEFAULT_PROBE_CONCURRENCY)
                .max(1),
        }
    }

    /// When a call for a request that arrived at `start` must end: the
    /// plugin's timeout, shortened by the request's own `budget` (the
    /// scrape timeout header, less the offset) when it has one. The one
    /// deadline rule of `/metrics` and `/probe`.
    pub fn deadline(&self, start: Instant, budget: Option<Duration>) -> Instant {
        start + budget.map_or(self.timeout, |b| b.min(self.timeout))
    }

    /// The caps the validation step applies.
    pub fn validation(&self) -> crate::exposition::validate::Caps {
        crate::exposition::validate::Caps {
            max_label_value_length: self.max_label_value_length,
            max_label_name_length: self.max_label_name_length,
            max_series: self.max_series,
            max_families: self.max_families,
        }
    }
}

/// Host-wide defaults that plugins' limits fall back to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostDefaults {
    /// `--plugins.memory-limit`.
    pub memory: u64,
    /// `--plugins.timeout`.
    pub timeout: Duration,
}

impl Default for HostDefaults {
    fn default() -> Self {
        HostDefaults {
            memory: DEFAULT_MEMORY,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_second_failure_up_to_the_cap() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(2), BACKOFF_BASE);
        assert_eq!(backoff(3), BACKOFF_BASE * 2);
        assert_eq!(backoff(40), BACKOFF_MAX);
    }

    #[test]
    fn plugin_timeout_cannot_exceed_the_host_ceiling() {
        let spec = LimitsSpec {
            timeout: Some(Duration::from_secs(3600)),
            ..LimitsSpec::default()
        };
        let host = HostDefaults::default();
        assert_eq!(Limits::resolve(Some(&spec), &host).timeout, DEFAULT_TIMEOUT);
        let limits = Limits::resolve(None, &host);
        assert_eq!(limits.max_series, DEFAULT_MAX_SERIES);
        assert_eq!(limits.memory, host.memory);
    }

    #[test]
    fn the_request_budget_shortens_the_deadline_never_lengthens_it() {
        let limits = Limits::resolve(None, &HostDefaults::default());
        let start = Instant::now();
        assert_eq!(limits.deadline(start, None), start + DEFAULT_TIMEOUT);
        let short = Duration::from_millis(300);
        assert_eq!(limits.deadline(start, Some(short)), start + short);
        let long = DEFAULT_TIMEOUT * 3;
        assert_eq!(limits.deadline(start, Some(long)), start + DEFAULT_TIMEOUT);
    }

    #[test]
    fn hostcall_fuel_follows_the_memory_limit() {
        assert_eq!(hostcall_fuel(1 << 20), MIN_HOSTCALL_FUEL);
        assert_eq!(hostcall_fuel(1 << 30), 2 << 30);
    }
}
