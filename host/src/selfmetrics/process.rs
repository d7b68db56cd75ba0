//! `process_*` metrics from `/proc/self`, as client libraries export them.
//! On systems without procfs they are simply absent.

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
        let field = |n: usize| -> Option<f64> { fields.get(n - 3).and_then(|v| v.parse().ok()) };
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
