//! The fault catalogue: each deliberately bad plugin runs next to a healthy
//! one through the real binary. For every entry the test shows that the
//! healthy plugin is served with HTTP 200, the bad one is down with a reason
//! naming the fault, the scrape ends within the deadline, the host's RSS
//! comes back near its baseline once the bad plugin is removed, and the log
//! reports the failure once, not once per scrape.

use std::net::TcpListener;
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::support::*;

/// Resident memory of a process, from /proc.
fn rss_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS in /proc/PID/status")?;
    Ok(kb * 1024)
}

/// How far above its baseline the host's RSS may stay after the bad plugin
/// is removed: allocator caches and compiled code of the removed component.
const RSS_BOUND: u64 = 48 << 20;
/// Per-call deadline of the bad plugins.
const TIMEOUT_SECONDS: f64 = 2.0;

struct Entry {
    name: &'static str,
    yml: String,
    reason: &'static str,
}

fn entry(name: &'static str, fault: &str, extra: &str, reason: &'static str) -> Entry {
    Entry {
        name,
        yml: format!(
            "config:\n  fault: {fault}\n{extra}limits:\n  timeout: 2s\n  memory: 64MiB\n  max_series: 1000\n  max_stderr_bytes: 64KiB\n"
        ),
        reason,
    }
}

/// `POST /-/reload`; a plugin that fails to start (`init`) makes it a 500
/// that names the plugin, as Prometheus answers a failed reload.
fn reload(e: &Exporter, fails_to_start: bool) -> Result<()> {
    let r = request(&e.addr, "POST", "/-/reload", &[("Content-Length", "0")])?;
    let want = if fails_to_start { 500 } else { 200 };
    anyhow::ensure!(r.status == want, "reload: {} {}", r.status, r.text()?);
    if fails_to_start {
        let text = r.text()?;
        anyhow::ensure!(text.contains("failed: bad: "), "{text}");
    }
    Ok(())
}

/// Runs one entry through every check.
fn check(entry: &Entry, extra_plugin: Option<(&str, &str)>) -> Result<()> {
    let dir = PluginsDir::new(&format!("catalogue-{}", entry.name));
    dir.add(
        "healthy",
        "conformance",
        Some("config:\n  prefix: healthy\n"),
    );
    let e = Exporter::start(
        &dir.path,
        &["--plugins.watch=false", "--web.enable-lifecycle"],
    )?;
    for _ in 0..5 {
        e.scrape_text()?;
    }
    let baseline = rss_bytes(e.pid())?;

    dir.add("bad", "faulty", Some(&entry.yml));
    if let Some((name, yml)) = extra_plugin {
        dir.add(name, "faulty", Some(yml));
    }
    reload(&e, entry.name.ends_with("_in_init"))?;
    let mut last = String::new();
    for scrape in 0..4 {
        let r = e.get("/metrics", &[])?;
        assert_eq!(r.status, 200, "{}: scrape {scrape}", entry.name);
        let body = r.text()?;
        let up = |p: &str| sample(&body, &format!("wasm_exporter_plugin_up{{plugin=\"{p}\"}}"));
        assert_eq!(
            up("healthy"),
            Some(1.0),
            "{}: healthy plugin down",
            entry.name
        );
        assert!(
            body.contains("healthy_mystery 42"),
            "{}: healthy data missing",
            entry.name
        );
        assert_eq!(
            up("bad"),
            Some(0.0),
            "{}: bad plugin not down:\n{body}",
            entry.name
        );
        let took = sample(
            &body,
            "wasm_exporter_plugin_collect_duration_seconds{plugin=\"bad\"}",
        )
        .expect("the bad plugin's duration");
        assert!(
            took <= TIMEOUT_SECONDS + 1.0,
            "{}: collect took {took} s",
            entry.name
        );
        last = body;
    }
    let count = sample(
        &last,
        &format!(
            "wasm_exporter_plugin_errors_total{{plugin=\"bad\",reason=\"{}\"}}",
            entry.reason
        ),
    );
    // Counted once per attempt: every scrape's collect is one for a fault
    // that keeps the instance; one that discards it backs off after the
    // second attempt in a row, so a fast fault is counted twice and a slow
    // one (a timeout outlasting the first backoff) up to once per scrape.
    let keeps_instance = matches!(
        entry.reason,
        "collect" | "invalid_output" | "name_clash" | "too_many_series" | "too_many_families"
    );
    let attempts = match entry.reason {
        // One refused or failed fetch per attempt.
        "fetch" | "fetch_denied" => 2.0..=4.0,
        _ if keeps_instance => 4.0..=4.0,
        _ => 2.0..=4.0,
    };
    assert!(
        count.is_some_and(|c| attempts.contains(&c)),
        "{}: errors_total{{reason={}}} is {count:?}, not in {attempts:?}",
        entry.name,
        entry.reason
    );

    // Logged once per state change, not once per scrape.
    let down = e.wait_for_log(&["plugin down", "plugin=bad"]);
    assert_eq!(down.len(), 1, "{}: {down:#?}", entry.name);
    // Down, so nothing of it was served: no "dropped" line beside "down".
    let dropped = e.logs_matching(&["dropped", "plugin=bad"]);
    assert_eq!(dropped.len(), 0, "{}: {dropped:#?}", entry.name);

    // Remove it: its series go, and the memory comes back.
    std::fs::remove_file(dir.path.join("bad.wasm"))?;
    if let Some((name, _)) = extra_plugin {
        std::fs::remove_file(dir.path.join(format!("{name}.wasm")))?;
    }
    reload(&e, false)?;
    let body = e.scrape_text()?;
    assert!(
        !body.contains("plugin=\"bad\""),
        "{}: bad plugin still listed",
        entry.name
    );
    let settled = eventually(Duration::from_secs(10), || {
        e.scrape_text()?;
        let rss = rss_bytes(e.pid())?;
        Ok((rss <= baseline + RSS_BOUND).then_some(rss))
    });
    assert!(
        settled.is_ok(),
        "{}: RSS {} MiB stayed above baseline {} MiB + {} MiB",
        entry.name,
        rss_bytes(e.pid())? >> 20,
        baseline >> 20,
        RSS_BOUND >> 20
    );
    Ok(())
}

macro_rules! fault_tests {
    ($($test:ident: $fault:literal => $reason:literal,)*) => {$(
        #[test]
        fn $test() -> Result<()> {
            check(&entry(stringify!($test), $fault, "", $reason), None)
        }
    )*};
}

fault_tests! {
    infinite_loop_in_collect: "loop_collect" => "timeout",
    infinite_loop_in_init: "loop_init" => "timeout",
    memory_bomb: "memory_bomb" => "memory",
    panic_in_collect: "panic_collect" => "trap",
    panic_in_init: "panic_init" => "trap",
    invalid_metric_and_label_names: "bad_names" => "invalid_output",
    label_values_not_matching_names: "label_mismatch" => "invalid_output",
    label_value_index_outside_the_string_table: "bad_label_index" => "invalid_output",
    native_histogram_counts_that_do_not_add_up: "bad_native" => "invalid_output",
    duplicate_series: "duplicate_series" => "invalid_output",
    non_cumulative_buckets: "non_cumulative" => "invalid_output",
    missing_inf_bucket: "missing_inf" => "invalid_output",
    nan_counter: "nan_counter" => "invalid_output",
    exemplar_over_128_runes: "long_exemplar" => "invalid_output",
    more_series_than_the_limit: "too_many_series" => "too_many_series",
    label_values_of_many_megabytes: "huge_label_values" => "invalid_output",
    stderr_flood: "stderr_flood" => "stderr_limit",
    only_the_host_s_own_names: "spoof_host" => "name_clash",
}

#[test]
fn more_families_than_the_limit() -> Result<()> {
    // Twice the default max_families (10000), small enough for the entry's
    // 64 MiB; the 200,000-family case is in faults.rs.
    check(
        &entry(
            "too_many_families",
            "too_many_families",
            "  families: 20000\n",
            "too_many_families",
        ),
        None,
    )
}

#[test]
fn same_family_from_two_plugins_with_different_types() -> Result<()> {
    // `aaa` (a gauge) sorts before `bad` (a counter of the same name), so
    // `bad` loses the clash.
    check(
        &entry("type_clash", "clash_counter", "", "name_clash"),
        Some(("aaa", "config:\n  fault: clash_gauge\n")),
    )
}

#[test]
fn fetch_that_never_answers() -> Result<()> {
    let silent = TcpListener::bind("127.0.0.1:0")?;
    let target = format!("http://{}/", silent.local_addr()?);
    let extra = format!("  target: \"{target}\"\ngrants:\n  fetch: [\"{target}\"]\n");
    check(&entry("fetch_hang", "fetch_hang", &extra, "fetch"), None)
}

#[test]
fn fetch_outside_the_grants() -> Result<()> {
    let extra = "  target: \"http://127.0.0.1:9/\"\n".to_owned();
    check(
        &entry("fetch_denied", "fetch_denied", &extra, "fetch_denied"),
        None,
    )
}
