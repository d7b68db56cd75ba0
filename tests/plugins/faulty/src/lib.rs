//! Test plugin: the fault catalogue. Each instance misbehaves in the one way
//! its `fault` config names, so that tests can show a bad plugin never costs
//! the host or the other plugins anything.

use wasm_exporter_sdk::fetch::{Request, fetch};
use wasm_exporter_sdk::{
    CollectError, Collector, Exemplar, HistogramValue, InitError, MetricFamily, NativeBucket,
    NativeHistogramValue, export_collector,
};
use wasm_exporter_sdk::{Level, log};

/// The faults.
#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Spin forever in `collect`.
    LoopCollect,
    /// Spin forever in `init`.
    LoopInit,
    /// Grow linear memory until the limit stops it.
    MemoryBomb,
    /// Panic in `collect`.
    PanicCollect,
    /// Panic in `init`.
    PanicInit,
    /// Invalid metric and label names, and a `__` label.
    BadNames,
    /// Label values that do not match the label names.
    LabelMismatch,
    /// A label value index outside the collection's string table.
    BadLabelIndex,
    /// A native histogram whose buckets do not add up to its count.
    BadNative,
    /// The same series twice.
    DuplicateSeries,
    /// Buckets that are not cumulative.
    NonCumulative,
    /// A histogram without `+Inf`.
    MissingInf,
    /// A NaN counter.
    NanCounter,
    /// A counter that goes down by one on every collect, from 100.
    CounterDown,
    /// An exemplar of more than 128 characters.
    LongExemplar,
    /// `clash_metric` as a gauge (pair with `clash_counter`).
    ClashGauge,
    /// `clash_metric` as a counter (pair with `clash_gauge`).
    ClashCounter,
    /// More series than any sane limit.
    TooManySeries,
    /// Label values of many megabytes.
    HugeLabelValues,
    /// Fetch `target`, which is expected never to answer.
    FetchHang,
    /// Fetch `target`, which is expected not to be granted.
    FetchDenied,
    /// Write megabytes to stderr on every collect.
    StderrFlood,
    /// Export only families named like the host's own, help text included.
    SpoofHost,
    /// The same, beside a family of its own (`spoofer_alive`).
    SpoofHostBesideData,
    /// `families` families of one series each (default 200000).
    TooManyFamilies,
    /// Families that become the host's once escaped for a scraper
    /// (`wasm_exporter.plugin_up`, `process.resident_memory_bytes`, ...),
    /// beside `spoofer_alive`.
    SpoofEscaped,
    /// Families that escaping makes unwritable (a label `..name..`, a
    /// stateset named like its label, a stateset with a colon), beside
    /// `unwritable_alive`.
    UnwritableNames,
    /// Native histograms protobuf cannot carry (a count over i64::MAX,
    /// indices too far apart), one with a NaN sum (fine in the Prometheus
    /// formats, not in OpenMetrics), beside `extremes_alive`.
    NativeExtremes,
    /// Open the file `target` `files` times and never close it.
    FdLeak,
    /// Write `lines` records of 4 KiB through `host.log` in one collect.
    LogFlood,
    /// Fetch `lines` distinct targets outside the grants in one collect.
    DeniedFlood,
    /// Read the file `target`, then try to change it in every way a
    /// filesystem allows (truncate, append, create beside it, rename,
    /// remove, make a directory). `faulty_file_ok{op}` is 1 for each
    /// operation that succeeded; each failure is logged with its error.
    FileAccess,
}

/// Configuration: the fault, and a fetch target for the fetch faults.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// What to do wrong.
    pub fault: Fault,
    /// Target of `fetch_hang` and `fetch_denied`; the file of `file_access`.
    #[serde(default)]
    pub target: String,
    /// How many families `too_many_families` returns.
    #[serde(default = "default_families")]
    pub families: u32,
    /// How many times `fd_leak` opens its file.
    #[serde(default = "default_files")]
    pub files: u32,
    /// How many lines `log_flood` writes and `denied_flood` fetches.
    #[serde(default = "default_lines")]
    pub lines: u32,
}

fn default_files() -> u32 {
    100_000
}

fn default_lines() -> u32 {
    20_000
}

fn default_families() -> u32 {
    200_000
}

/// The host's own families, as a plugin that wants to pass for it would
/// write them.
fn spoofs() -> Vec<MetricFamily> {
    let mut up = MetricFamily::gauge(
        "wasm_exporter_plugin_up",
        "Whether the plugin's last collect succeeded (1) or failed (0).",
    )
    .with_labels(["plugin"]);
    up.add_gauge(["other"], 1.0);
    let mut cpu = MetricFamily::counter(
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
    );
    cpu.add_counter((), 1.0);
    vec![up, cpu]
}

/// The collector.
pub struct Faulty {
    config: Config,
    collects: u32,
}

fn gauge(name: &str, labels: &[&str]) -> MetricFamily {
    MetricFamily::gauge(name, "A deliberately broken family.").with_labels(labels.iter().copied())
}

/// Spins without end, in a way the compiler cannot remove.
fn spin() -> ! {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

impl Collector for Faulty {
    type Config = Config;

    fn init(config: Config) -> Result<Self, InitError> {
        match config.fault {
            Fault::LoopInit => spin(),
            Fault::PanicInit => panic!("faulty plugin: panic in init"),
            _ => Ok(Faulty {
                config,
                collects: 0,
            }),
        }
    }

    fn collect(&mut self) -> Result<Vec<MetricFamily>, CollectError> {
        self.collects += 1;
        let mut out = Vec::new();
        match self.config.fault {
            Fault::LoopInit | Fault::PanicInit => {}
            Fault::LoopCollect => spin(),
            Fault::PanicCollect => panic!("faulty plugin: panic in collect"),
            Fault::MemoryBomb => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![7u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            Fault::BadNames => {
                // Any UTF-8 is a name since contract 0.2.0; an empty one
                // is not.
                let mut f = gauge("", &[]);
                f.add_gauge((), 1.0);
                out.push(f);
                let mut f = gauge("bad_label", &[""]);
                f.add_gauge(["v"], 1.0);
                out.push(f);
                let mut f = gauge("reserved_label", &["__name"]);
                f.add_gauge(["v"], 1.0);
                out.push(f);
            }
            Fault::BadLabelIndex => {
                let mut f = gauge("bad_index", &["a"]);
                f.add_gauge(["x"], 1.0);
                f.label_values[0] = u32::MAX;
                out.push(f);
            }
            Fault::BadNative => {
                let mut f = MetricFamily::histogram("native_seconds", "Native.");
                f.add_native_histogram(
                    (),
                    NativeHistogramValue {
                        schema: 3,
                        zero_threshold: 0.0,
                        zero_count: 0,
                        negative: Vec::new(),
                        positive: vec![NativeBucket { index: 1, count: 2 }],
                        count: 5,
                        sum: 1.0,
                        exemplars: Vec::new(),
                        classic: Vec::new(),
                    },
                );
                out.push(f);
            }
            Fault::LabelMismatch => {
                let mut f = gauge("mismatch", &["a", "b"]);
                f.add_gauge(["only-one"], 1.0);
                out.push(f);
            }
            Fault::DuplicateSeries => {
                let mut f = gauge("duplicate", &["a"]);
                f.add_gauge(["x"], 1.0);
                f.add_gauge(["x"], 2.0);
                out.push(f);
            }
            Fault::NonCumulative | Fault::MissingInf => {
                let buckets: &[(f64, u64)] = if self.config.fault == Fault::NonCumulative {
                    &[(1.0, 5), (2.0, 3), (f64::INFINITY, 5)]
                } else {
                    &[(1.0, 1), (2.0, 2)]
                };
                let mut f =
                    MetricFamily::histogram("broken_histogram", "A deliberately broken family.");
                f.add_histogram(
                    (),
                    HistogramValue::from_cumulative(buckets.iter().copied(), 1.0, 5),
                );
                out.push(f);
            }
            Fault::CounterDown => {
                let mut f = MetricFamily::counter("falling_total", "A counter that goes down.")
                    .with_labels(["job"]);
                f.add_counter(["backup"], f64::from(100 - self.collects.min(100)));
                f.add_counter(["steady"], 1.0);
                out.push(f);
            }
            Fault::NanCounter => {
                let mut f = MetricFamily::counter("nan_total", "A deliberately broken family.");
                f.add_counter((), f64::NAN);
                out.push(f);
            }
            Fault::LongExemplar => {
                let mut f =
                    MetricFamily::counter("long_exemplar_total", "A deliberately broken family.");
                let long = "x".repeat(200);
                f.add_counter((), 1.0)
                    .with_exemplar(Exemplar::new([("trace_id", long.as_str())], 1.0));
                out.push(f);
            }
            Fault::ClashGauge => {
                let mut f = gauge("clash_metric", &[]);
                f.add_gauge((), 1.0);
                out.push(f);
            }
            Fault::ClashCounter => {
                let mut f = MetricFamily::counter("clash_metric", "A deliberately broken family.");
                f.add_counter((), 1.0);
                out.push(f);
            }
            Fault::TooManySeries => {
                let mut f = gauge("many", &["i"]);
                for i in 0..5000 {
                    f.add_gauge([i.to_string()], 1.0);
                }
                out.push(f);
            }
            Fault::HugeLabelValues => {
                let mut f = gauge("huge", &["v"]);
                f.add_gauge(["x".repeat(8 << 20)], 1.0);
                out.push(f);
            }
            Fault::FetchHang | Fault::FetchDenied => {
                // A fetch failure is an expected failure: report it as one.
                if let Err(e) = fetch(&Request::new(self.config.target.clone())) {
                    return Err(CollectError::new(format!("fetch failed: {e:?}")));
                }
            }
            Fault::SpoofHost => out.extend(spoofs()),
            Fault::SpoofHostBesideData => {
                out.extend(spoofs());
                let mut f = gauge("spoofer_alive", &[]);
                f.add_gauge((), 1.0);
                out.push(f);
            }
            Fault::TooManyFamilies => {
                for i in 0..self.config.families {
                    let mut f = gauge(&format!("family_{i}"), &[]);
                    f.add_gauge((), 1.0);
                    out.push(f);
                }
            }
            Fault::FileAccess => out.push(file_access(&self.config.target)),
            Fault::SpoofEscaped => {
                let mut up = gauge("wasm_exporter.plugin_up", &["plugin"]);
                up.add_gauge(["healthy"], 0.0);
                up.add_gauge(["ghost"], 1.0);
                let mut rss = gauge("process.resident_memory_bytes", &[]);
                rss.add_gauge((), 1.0);
                let mut series = gauge("wasm_exporter.plugin_series", &["plugin"]);
                series.add_gauge(["healthy"], 0.0);
                let mut build =
                    MetricFamily::info("wasm_exporter.build", "Forged.").with_labels(["version"]);
                build.add_info(["forged"]);
                let mut alive = gauge("spoofer_alive", &[]);
                alive.add_gauge((), 1.0);
                out.extend([up, rss, series, build, alive]);
            }
            Fault::UnwritableNames => {
                let mut name = gauge("unwritable_name", &["..name.."]);
                name.add_gauge(["x"], 1.0);
                let mut help = gauge("unwritable_help", &["..help"]);
                help.add_gauge(["x"], 1.0);
                let mut own = MetricFamily::stateset("f.x", "State named like its label.")
                    .with_labels(["f_x"]);
                own.add_stateset(["x"], [("on", true)]);
                let mut colon = MetricFamily::stateset("s:t", "State with a colon.");
                colon.add_stateset((), [("on", true)]);
                let mut alive = gauge("unwritable_alive", &[]);
                alive.add_gauge((), 1.0);
                out.extend([name, help, own, colon, alive]);
            }
            Fault::NativeExtremes => {
                let native =
                    |positive: Vec<NativeBucket>, count: u64, sum: f64| NativeHistogramValue {
                        schema: 0,
                        zero_threshold: 0.0,
                        zero_count: 0,
                        negative: Vec::new(),
                        positive,
                        count,
                        sum,
                        exemplars: Vec::new(),
                        classic: Vec::new(),
                    };
                let bucket = |index, count| NativeBucket { index, count };
                let mut huge = MetricFamily::histogram("extreme_count", "Over i64::MAX.");
                huge.add_native_histogram(
                    (),
                    native(vec![bucket(1, u64::MAX - 1)], u64::MAX - 1, 1.0),
                );
                let mut far = MetricFamily::histogram("extreme_indices", "Too far apart.");
                far.add_native_histogram(
                    (),
                    native(vec![bucket(i32::MIN, 1), bucket(i32::MAX, 1)], 2, 1.0),
                );
                let mut nan = MetricFamily::histogram("nan_sum", "A NaN sum.");
                nan.add_native_histogram((), native(vec![bucket(1, 2)], 3, f64::NAN));
                let mut alive = gauge("extremes_alive", &[]);
                alive.add_gauge((), 1.0);
                out.extend([huge, far, nan, alive]);
            }
            Fault::FdLeak => {
                let mut opened = 0u32;
                for _ in 0..self.config.files {
                    match std::fs::File::open(&self.config.target) {
                        Ok(file) => {
                            std::mem::forget(file);
                            opened += 1;
                        }
                        Err(e) => {
                            log(Level::Warn, &format!("open {opened}: {e}"));
                            break;
                        }
                    }
                }
                let mut f = gauge("faulty_files_opened", &[]);
                f.add_gauge((), f64::from(opened));
                out.push(f);
            }
            Fault::LogFlood => {
                let line = "flood ".repeat(4096 / 6);
                for _ in 0..self.config.lines {
                    log(Level::Warn, &line);
                }
                let mut f = gauge("flooder_alive", &[]);
                f.add_gauge((), 1.0);
                out.push(f);
            }
            Fault::DeniedFlood => {
                for i in 0..self.config.lines {
                    let _ = fetch(&Request::new(format!("http://127.0.0.1:9/denied/{i}")));
                }
                let mut f = gauge("denier_alive", &[]);
                f.add_gauge((), 1.0);
                out.push(f);
            }
            Fault::StderrFlood => {
                let line = "flood ".repeat(1000);
                for _ in 0..2000 {
                    eprintln!("{line}");
                }
                let mut f = gauge("flooder_alive", &[]);
                f.add_gauge((), 1.0);
                out.push(f);
            }
        }
        Ok(out)
    }
}

/// One attempt of `file_access`.
type FileOp<'a> = dyn Fn() -> std::io::Result<()> + 'a;

/// Every way `file_access` tries to read or change `target`.
fn file_access(target: &str) -> MetricFamily {
    use std::io::Write;
    let moved = format!("{target}.moved");
    let beside = format!("{target}.new");
    let dir = format!("{target}.d");
    let ops: [(&str, Box<FileOp>); 7] = [
        ("read", Box::new(|| std::fs::read(target).map(drop))),
        (
            "append",
            Box::new(|| {
                let mut f = std::fs::OpenOptions::new().append(true).open(target)?;
                f.write_all(b"appended 1\n")
            }),
        ),
        (
            "truncate",
            Box::new(|| std::fs::File::create(target).map(drop)),
        ),
        ("create", Box::new(|| std::fs::write(&beside, b"new 1\n"))),
        ("rename", Box::new(|| std::fs::rename(target, &moved))),
        ("remove", Box::new(|| std::fs::remove_file(target))),
        ("mkdir", Box::new(|| std::fs::create_dir(&dir))),
    ];
    let mut f = gauge("faulty_file_ok", &["op"]);
    for (op, run) in ops {
        let ok = match run() {
            Ok(()) => true,
            Err(e) => {
                log(Level::Warn, &format!("{op} {target}: {e}"));
                false
            }
        };
        f.add_gauge([op], if ok { 1.0 } else { 0.0 });
    }
    f
}

export_collector!(Faulty);

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_sdk::rules::Rule;
    use wasm_exporter_sdk::testing;

    /// The SDK's `testing::check` finds what the host drops for each fault
    /// that breaks a rule (the host's side: tests/e2e/catalogue.rs).
    #[test]
    fn testing_check_names_the_rule_the_host_drops_for() {
        let cases = [
            ("bad_names", Rule::MetricName),
            ("label_mismatch", Rule::LabelShape),
            ("bad_label_index", Rule::LabelIndex),
            ("bad_native", Rule::NativeHistogram),
            ("duplicate_series", Rule::DuplicateSeries),
            ("non_cumulative", Rule::Buckets),
            ("missing_inf", Rule::Buckets),
            ("nan_counter", Rule::CounterValue),
            ("long_exemplar", Rule::Exemplar),
            ("huge_label_values", Rule::LabelValueLength),
            ("spoof_host", Rule::HostName),
            ("spoof_escaped", Rule::HostName),
        ];
        for (fault, rule) in cases {
            let config = format!(r#"{{"fault": "{fault}"}}"#);
            let families = testing::run::<Faulty>(&config, 1).unwrap();
            let problems = testing::check(&families).unwrap_err();
            assert!(
                problems.iter().any(|p| p.rule == rule),
                "{fault}: {problems:?}"
            );
        }
        let fine = testing::run::<Faulty>(r#"{"fault": "spoof_host_beside_data"}"#, 1).unwrap();
        let problems = testing::check(&fine).unwrap_err();
        assert!(
            problems.iter().all(|p| p.family != "spoofer_alive"),
            "{problems:?}"
        );
    }
}
