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

/// Reads the process metrics; those read from `/proc` are absent where it
/// is missing.
///
/// Each scrape costs a few system calls, not the text of
/// `/proc/self/stat` (which the kernel builds by walking every thread):
/// the CPU time from the process clock, the sizes from `/proc/self/statm`
/// (kept open and read again from its start), the start time once.
pub fn families() -> Vec<Family> {
    let mut out = Vec::new();
    // The process clock is what `stat`'s utime + stime add up to, to the
    // nanosecond rather than the tick.
    let cpu = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    out.push(single(
        Kind::Counter,
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        "seconds",
        cpu.tv_sec as f64 + cpu.tv_nsec as f64 / 1e9,
    ));
    if let Some((vsize, rss)) = statm() {
        out.push(single(
            Kind::Gauge,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            "bytes",
            vsize,
        ));
        out.push(single(
            Kind::Gauge,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            "bytes",
            rss,
        ));
    }
    // The start never changes: worked out from the first read.
    static START: std::sync::OnceLock<Option<f64>> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses; the
        // start is the 22nd field, in ticks since boot.
        let (_, rest) = stat.rsplit_once(')')?;
        let ticks: f64 = rest.split_whitespace().nth(22 - 3)?.parse().ok()?;
        Some(boot_time()? + ticks / ticks_per_second())
    });
    if let Some(start) = start {
        out.push(single(
            Kind::Gauge,
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            "seconds",
            start,
        ));
    }
    if let Some(fds) = open_fds() {
        out.push(single(
            Kind::Gauge,
            "process_open_fds",
            "Number of open file descriptors.",
            "",
            fds,
        ));
    }
    // The soft limits, as /proc/self/limits shows them, without reading
    // it: two system calls.
    let soft = |resource| {
        rustix::process::getrlimit(resource)
            .current
            .map_or(f64::INFINITY, |v| v as f64)
    };
    out.push(single(
        Kind::Gauge,
        "process_max_fds",
        "Maximum number of open file descriptors.",
        "",
        soft(rustix::process::Resource::Nofile),
    ));
    out.push(single(
        Kind::Gauge,
        "process_virtual_memory_max_bytes",
        "Maximum amount of virtual memory available in bytes.",
        "bytes",
        soft(rustix::process::Resource::As),
    ));
    out
}

/// The open file descriptors: the size Linux gives `/proc/self/fd` (from
/// 6.2 it counts them there, one `statx`), else by listing the directory
/// (an open, two reads of its entries and a close), without the listing's
/// own descriptor.
fn open_fds() -> Option<f64> {
    match std::fs::metadata("/proc/self/fd").ok()?.len() {
        0 => listed_fds(),
        n => Some(n as f64),
    }
}

/// The open file descriptors by listing `/proc/self/fd`, less the one the
/// listing holds.
fn listed_fds() -> Option<f64> {
    let n = std::fs::read_dir("/proc/self/fd").ok()?.count();
    Some(n.saturating_sub(1) as f64)
}

/// Virtual and resident size in bytes, from `/proc/self/statm` (the
/// figures `stat` shows, in pages), opened once and read from its start
/// at each call.
fn statm() -> Option<(f64, f64)> {
    use std::os::unix::fs::FileExt as _;
    static FILE: std::sync::OnceLock<Option<std::fs::File>> = std::sync::OnceLock::new();
    let file = FILE
        .get_or_init(|| std::fs::File::open("/proc/self/statm").ok())
        .as_ref()?;
    let mut buf = [0u8; 256];
    let n = file.read_at(&mut buf, 0).ok()?;
    let mut pages = std::str::from_utf8(buf.get(..n)?)
        .ok()?
        .split_whitespace()
        .map(|v| v.parse::<f64>().ok());
    let (size, resident) = (pages.next()??, pages.next()??);
    let page = page_size();
    Some((size * page, resident * page))
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

    fn families_value(families: &[Family], name: &str) -> f64 {
        families
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| match f.series[0].value {
                Value::Gauge(v) => Some(v),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn reads_this_process() {
        // The kernel's own figure, in kB, read before and after (other
        // tests allocate meanwhile): a wrong page size would be 4x or 16x
        // off on a 16K- or 64K-page machine.
        let vm_rss = || -> f64 {
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .unwrap()
                .parse::<f64>()
                .unwrap()
                * 1024.0
        };
        let before = vm_rss();
        let families = families();
        let after = vm_rss();
        let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
        for want in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_start_time_seconds",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        let value = |name: &str| families_value(&families, name);
        let rss = value("process_resident_memory_bytes");
        assert!(
            rss >= before.min(after) * 0.8 && rss <= before.max(after) * 1.25,
            "rss {rss} vs VmRSS {before}..{after} bytes"
        );
        // The process clock agrees with stat's ticks (utime + stime).
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let fields: Vec<f64> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(f64::NAN))
            .collect();
        let ticks = (fields[14 - 3] + fields[15 - 3]) / ticks_per_second();
        let cpu = match families[0].series[0].value {
            Value::Counter { total, .. } => total,
            _ => panic!("process_cpu_seconds_total is not a counter"),
        };
        assert!(
            (cpu - ticks).abs() < 0.1 + ticks * 0.05,
            "clock {cpu} s, stat {ticks} s"
        );
        // statm is read afresh each time, not the first read again.
        let touched = vec![1u8; 64 << 20];
        let grown = families_value(&super::families(), "process_resident_memory_bytes");
        assert!(
            grown >= rss + 48.0 * 1024.0 * 1024.0,
            "rss {rss} then {grown} after touching 64 MiB"
        );
        drop(std::hint::black_box(touched));
        // The descriptors the size of /proc/self/fd counts are the ones a
        // listing shows (other tests open files meanwhile, a few at most),
        // and 50 more opened show as 50 more.
        let counted = open_fds().unwrap();
        let listed = listed_fds().unwrap();
        assert!(
            (counted - listed).abs() <= 8.0,
            "{counted} vs {listed} listed"
        );
        let extra: Vec<std::fs::File> = (0..50)
            .map(|_| std::fs::File::open("/proc/self/statm").unwrap())
            .collect();
        let more = open_fds().unwrap() - counted;
        assert!((42.0..=58.0).contains(&more), "{more} more with 50 open");
        drop(extra);
        // The limit from getrlimit is the one /proc/self/limits shows.
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        let soft: f64 = line["Max open files".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(value("process_max_fds"), soft);
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
