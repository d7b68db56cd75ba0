//! The host's own metrics, built once per scrape from the plugins' statuses
//! after they were recorded: per-plugin status, build information, and the
//! usual `process_*` metrics. Their names belong to the host: a plugin
//! family that takes one is dropped as a clash ([`host_owns`]).

use crate::catalogue::Status;
use crate::catalogue::probe::{DURATION_BUCKETS, ProbeStats};
use crate::exposition::model::{Family, Kind, Value};
use crate::reason::Reason;

// Prefixes of every name the host serves; no plugin may take a name that
// starts with one (the rule is shared with the SDK).
pub use crate::exposition::validate::rules::{HOST_PREFIXES, host_owns};

/// Build information for `wasm_exporter_build_info`.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// Crate version.
    pub version: &'static str,
    /// Git revision, or `unknown`.
    pub revision: &'static str,
    /// rustc version used.
    pub rustversion: &'static str,
    /// wasmtime version.
    pub wasmtime: &'static str,
}

impl BuildInfo {
    /// This binary's build information.
    pub fn current() -> Self {
        BuildInfo {
            version: env!("CARGO_PKG_VERSION"),
            revision: option_env!("WASM_EXPORTER_REVISION").unwrap_or("unknown"),
            rustversion: env!("WASM_EXPORTER_RUSTC"),
            wasmtime: crate::runtime::limits::WASMTIME_VERSION,
        }
    }
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> Family {
    Family::new(Kind::Gauge, name, help).with_labels(labels)
}

/// The host's families for the plugins' statuses, given by name in name
/// order; the `process_*` ones only with `process`
/// (`--web.disable-exporter-metrics` leaves them out).
pub fn families(plugins: &[(&str, Status)], build: &BuildInfo, process: bool) -> Vec<Family> {
    let mut up = gauge(
        "wasm_exporter_plugin_up",
        "Whether the plugin's last collect succeeded (1) or failed (0).",
        &["plugin"],
    );
    let mut duration = gauge(
        "wasm_exporter_plugin_collect_duration_seconds",
        "Duration of the plugin's last collect, instantiation included.",
        &["plugin"],
    )
    .with_unit("seconds");
    let mut series = gauge(
        "wasm_exporter_plugin_series",
        "Series served from the plugin's last collect.",
        &["plugin"],
    );
    let mut dropped = gauge(
        "wasm_exporter_plugin_dropped_families",
        "Families dropped from the plugin's last collect as invalid or clashing.",
        &["plugin"],
    );
    let mut errors = Family::new(
        Kind::Counter,
        "wasm_exporter_plugin_errors_total",
        "Failed or partly failed collects of the plugin, by reason.",
    )
    .with_labels(&["plugin", "reason"]);
    let mut info = Family::new(
        Kind::Info,
        "wasm_exporter_plugin_info",
        "Name and version the plugin reports about itself.",
    )
    .with_labels(&["plugin", "name", "version"]);

    let mut reloads = Family::new(
        Kind::Counter,
        "wasm_exporter_plugin_load_errors_total",
        "New versions of the plugin that failed to compile or init on reload; the old version kept serving.",
    )
    .with_labels(&["plugin"]);

    let mut memory = gauge(
        "wasm_exporter_plugin_memory_bytes",
        "Linear memory of the plugin's instance, in bytes.",
        &["plugin"],
    )
    .with_unit("bytes");
    let mut memory_peak = gauge(
        "wasm_exporter_plugin_memory_peak_bytes",
        "Most linear memory any instance of the plugin had, in bytes.",
        &["plugin"],
    )
    .with_unit("bytes");
    let mut cpu = Family::new(
        Kind::Counter,
        "wasm_exporter_plugin_cpu_seconds_total",
        "CPU time spent in the plugin's calls, in seconds.",
    )
    .with_labels(&["plugin"])
    .with_unit("seconds");

    for (name, status) in plugins {
        let name = (*name).to_owned();
        let label = || vec![name.clone()];
        up.push(label(), Value::Gauge(if status.up { 1.0 } else { 0.0 }));
        duration.push(label(), Value::Gauge(status.last_duration.as_secs_f64()));
        series.push(label(), Value::Gauge(status.series as f64));
        memory.push(label(), Value::Gauge(status.memory as f64));
        memory_peak.push(label(), Value::Gauge(status.memory_peak as f64));
        cpu.push(
            label(),
            Value::Counter {
                total: status.cpu.as_secs_f64(),
                exemplar: None,
            },
        );
        dropped.push(label(), Value::Gauge(status.dropped_families as f64));
        for reason in Reason::ALL {
            let count = status.errors.get(&reason).copied().unwrap_or(0);
            errors.push(
                vec![name.clone(), reason.as_str().to_owned()],
                Value::Counter {
                    total: count as f64,
                    exemplar: None,
                },
            );
        }
        if let Some(meta) = &status.metadata {
            info.push(
                vec![name.clone(), meta.name.clone(), meta.version.clone()],
                Value::Info,
            );
        }
        reloads.push(
            label(),
            Value::Counter {
                total: status.failed_reloads as f64,
                exemplar: None,
            },
        );
    }

    let mut build_info = Family::new(
        Kind::Info,
        "wasm_exporter_build_info",
        "A metric with a constant '1' value labeled by version, revision, rustversion and wasmtime from which wasm_exporter was built.",
    )
    .with_labels(&["version", "revision", "rustversion", "wasmtime"]);
    build_info.push(
        vec![
            build.version.to_owned(),
            build.revision.to_owned(),
            build.rustversion.to_owned(),
            build.wasmtime.to_owned(),
        ],
        Value::Info,
    );

    let mut out = vec![
        up,
        duration,
        series,
        dropped,
        errors,
        info,
        build_info,
        reloads,
        memory,
        memory_peak,
        cpu,
    ];
    if process {
        out.extend(process::families());
    }
    for family in &mut out {
        std::sync::Arc::make_mut(&mut family.series).sort_unstable_by(|a, b| {
            crate::exposition::model::cmp_label_values(&a.label_values, &b.label_values)
        });
    }
    out
}

/// The `/probe` counts of each module that answers it, given by name in
/// name order: probes, failures by reason (every reason a probe can fail
/// with, present from the start) and a histogram of their durations.
pub fn probe_families(modules: &[(&str, ProbeStats)]) -> Vec<Family> {
    use crate::exposition::model::{Bucket, Histogram};
    let counter = |total: u64| Value::Counter {
        total: total as f64,
        exemplar: None,
    };
    let mut probes = Family::new(
        Kind::Counter,
        "wasm_exporter_probes_total",
        "Probes of the module answered on /probe.",
    )
    .with_labels(&["module"]);
    let mut failures = Family::new(
        Kind::Counter,
        "wasm_exporter_probe_failures_total",
        "Probes of the module that failed, by reason: target_denied (outside grants.fetch, answered 403), invalid_target, busy (no probe slot before the deadline), or the plugin's failure reason.",
    )
    .with_labels(&["module", "reason"]);
    let mut duration = Family::new(
        Kind::Histogram,
        "wasm_exporter_module_probe_duration_seconds",
        "Duration of the module's probes, in seconds (each probe's own is wasm_exporter_probe_duration_seconds in its answer).",
    )
    .with_labels(&["module"])
    .with_unit("seconds");
    let always = ["target_denied", "invalid_target", "busy", "timeout", "trap"];
    for (name, stats) in modules {
        let module = || vec![(*name).to_owned()];
        probes.push(module(), counter(stats.probes));
        let mut reasons = stats.failures.clone();
        for reason in always {
            reasons.entry(reason).or_insert(0);
        }
        for (reason, n) in reasons {
            failures.push(vec![(*name).to_owned(), reason.to_owned()], counter(n));
        }
        let mut cumulative = 0;
        let buckets: Vec<Bucket> = DURATION_BUCKETS
            .iter()
            .chain([&f64::INFINITY])
            .zip(stats.buckets)
            .map(|(bound, n)| {
                cumulative += n;
                Bucket {
                    upper_bound: *bound,
                    cumulative_count: cumulative,
                    exemplar: None,
                }
            })
            .collect();
        duration.push(
            module(),
            Value::Histogram(Histogram {
                buckets,
                sum: stats.duration_sum,
                count: stats.probes,
                native: None,
            }),
        );
    }
    vec![probes, failures, duration]
}

/// promhttp's metrics about the metrics handler itself: scrapes served by
/// HTTP status code (200, 500 and 503 always present, as in client_golang)
/// and scrapes in flight, this one included.
pub fn handler_families(
    in_flight: i64,
    by_code: &std::collections::BTreeMap<u16, u64>,
) -> Vec<Family> {
    let mut requests = Family::new(
        Kind::Counter,
        "promhttp_metric_handler_requests_total",
        "Total number of scrapes by HTTP status code.",
    )
    .with_labels(&["code"]);
    let mut codes = by_code.clone();
    for code in [200, 500, 503] {
        codes.entry(code).or_insert(0);
    }
    for (code, n) in codes {
        requests.push(
            vec![code.to_string()],
            Value::Counter {
                total: n as f64,
                exemplar: None,
            },
        );
    }
    let mut in_flight_family = Family::new(
        Kind::Gauge,
        "promhttp_metric_handler_requests_in_flight",
        "Current number of scrapes being served.",
    );
    in_flight_family.push(vec![], Value::Gauge(in_flight as f64));
    vec![requests, in_flight_family]
}

/// `wasm_exporter_escape_clashes_total`: families left out of a response
/// because their names became equal to another's under the negotiated name
/// escaping.
pub fn escape_clash_family(total: u64) -> Family {
    let mut f = Family::new(
        Kind::Counter,
        "wasm_exporter_escape_clashes_total",
        "Families left out of responses because their names clashed with another family's once escaped for the scraper.",
    );
    f.push(
        vec![],
        Value::Counter {
            total: total as f64,
            exemplar: None,
        },
    );
    f
}

/// `process_*` metrics from `/proc/self`, as client libraries export them.
/// On systems without procfs they are simply absent.
pub mod process {
    use crate::exposition::model::{Family, Kind, Value};

    fn single(kind: Kind, name: &str, help: &str, unit: &str, v: f64) -> Family {
        let mut f = Family::new(kind, name, help).with_unit(unit);
        let value = match kind {
            Kind::Counter => Value::Counter {
                total: v,
                exemplar: None,
            },
            _ => Value::Gauge(v),
        };
        f.push(Vec::new(), value);
        f
    }

    /// Clock ticks per second of `/proc/self/stat` times (USER_HZ), from
    /// the system rather than assumed.
    fn ticks_per_second() -> f64 {
        rustix::param::clock_ticks_per_second() as f64
    }

    /// Bytes per page of `/proc/self/stat` RSS: 4 KiB on x86_64, but 16 or
    /// 64 KiB on some arm64 kernels.
    fn page_size() -> f64 {
        rustix::param::page_size() as f64
    }

    /// Reads the process metrics; empty where `/proc` is missing.
    pub fn families() -> Vec<Family> {
        let mut out = Vec::new();
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the command name, which is in parentheses.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().collect())
                .unwrap_or_default();
            let field =
                |n: usize| -> Option<f64> { fields.get(n - 3).and_then(|v| v.parse().ok()) };
            if let (Some(utime), Some(stime)) = (field(14), field(15)) {
                out.push(single(
                    Kind::Counter,
                    "process_cpu_seconds_total",
                    "Total user and system CPU time spent in seconds.",
                    "seconds",
                    (utime + stime) / ticks_per_second(),
                ));
            }
            if let Some(vsize) = field(23) {
                out.push(single(
                    Kind::Gauge,
                    "process_virtual_memory_bytes",
                    "Virtual memory size in bytes.",
                    "bytes",
                    vsize,
                ));
            }
            if let Some(rss) = field(24) {
                out.push(single(
                    Kind::Gauge,
                    "process_resident_memory_bytes",
                    "Resident memory size in bytes.",
                    "bytes",
                    rss * page_size(),
                ));
            }
            if let (Some(start_ticks), Some(boot)) = (field(22), boot_time()) {
                out.push(single(
                    Kind::Gauge,
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    "seconds",
                    boot + start_ticks / ticks_per_second(),
                ));
            }
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            out.push(single(
                Kind::Gauge,
                "process_open_fds",
                "Number of open file descriptors.",
                "",
                fds.count() as f64,
            ));
        }
        if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
            let soft = |prefix: &str| -> Option<f64> {
                let line = limits.lines().find(|l| l.starts_with(prefix))?;
                let value = line[prefix.len()..].split_whitespace().next()?;
                Some(if value == "unlimited" {
                    f64::INFINITY
                } else {
                    value.parse().ok()?
                })
            };
            if let Some(max) = soft("Max open files") {
                out.push(single(
                    Kind::Gauge,
                    "process_max_fds",
                    "Maximum number of open file descriptors.",
                    "",
                    max,
                ));
            }
            if let Some(max) = soft("Max address space") {
                out.push(single(
                    Kind::Gauge,
                    "process_virtual_memory_max_bytes",
                    "Maximum amount of virtual memory available in bytes.",
                    "bytes",
                    max,
                ));
            }
        }
        out
    }

    /// When the machine booted, in seconds since the epoch: the wall clock
    /// minus the time since boot. Read from the clocks, not `/proc/stat`,
    /// which systemd's `ProcSubset=pid` (the shipped unit) hides.
    fn boot_time() -> Option<f64> {
        use rustix::time::{ClockId, clock_gettime};
        let seconds = |t: rustix::time::Timespec| t.tv_sec as f64 + t.tv_nsec as f64 / 1e9;
        let now = seconds(clock_gettime(ClockId::Realtime));
        let up = seconds(clock_gettime(ClockId::Boottime));
        Some(now - up)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_this_process() {
            let families = families();
            let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
            for want in [
                "process_cpu_seconds_total",
                "process_resident_memory_bytes",
                "process_open_fds",
                "process_start_time_seconds",
            ] {
                assert!(names.contains(&want), "{want} missing from {names:?}");
            }
            let value = |name: &str| {
                families
                    .iter()
                    .find(|f| f.name == name)
                    .and_then(|f| match f.series[0].value {
                        Value::Gauge(v) => Some(v),
                        _ => None,
                    })
                    .unwrap()
            };
            // The kernel's own figure, in kB: a wrong page size would be 4x
            // or 16x off on a 16K- or 64K-page machine.
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let kb: f64 = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .unwrap()
                .parse()
                .unwrap();
            let rss = value("process_resident_memory_bytes");
            let ratio = rss / (kb * 1024.0);
            assert!((0.8..1.25).contains(&ratio), "rss {rss} vs VmRSS {kb} kB");
            // The start time from the clocks agrees with /proc/stat's btime
            // where that is readable.
            let start = value("process_start_time_seconds");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            assert!(
                start <= now && start > now - 3600.0,
                "start {start}, now {now}"
            );
            if let Ok(stat) = std::fs::read_to_string("/proc/stat") {
                let btime: f64 = stat
                    .lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                let boot = boot_time().unwrap();
                assert!((boot - btime).abs() < 2.0, "boot {boot} vs btime {btime}");
            }
        }
    }
}
