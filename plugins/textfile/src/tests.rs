//! The collector over real directories: which files count, what is an
//! error, and how families from several files merge.

use std::path::PathBuf;

use wasm_exporter_sdk::{MetricKind, SampleValue};

use super::*;

/// A temporary directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("textfile-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn write(&self, name: &str, content: &str) -> &Self {
        std::fs::write(self.0.join(name), content).unwrap();
        self
    }

    fn path(&self) -> String {
        self.0.to_str().unwrap().to_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn collect(directories: &[String]) -> (Vec<MetricFamily>, Vec<String>) {
    let collector = Textfile::init(Config {
        directories: directories.to_vec(),
        max_file_bytes: 1024,
    })
    .unwrap();
    collector.gather().families()
}

fn family<'a>(families: &'a [MetricFamily], name: &str) -> &'a MetricFamily {
    families
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", names(families)))
}

fn names(families: &[MetricFamily]) -> Vec<&str> {
    families.iter().map(|f| f.name.as_str()).collect()
}

fn scrape_error(families: &[MetricFamily]) -> f64 {
    match family(families, merge::SCRAPE_ERROR).series[0].value {
        SampleValue::Gauge(v) => v,
        ref other => panic!("{other:?}"),
    }
}

fn mtime_files(families: &[MetricFamily]) -> Vec<String> {
    let Some(f) = families.iter().find(|f| f.name == merge::MTIME) else {
        return Vec::new();
    };
    (0..f.series.len())
        .map(|i| f.series_labels(i)[0].clone())
        .collect()
}

#[test]
fn only_prom_files_are_read_and_each_good_one_has_its_mtime() {
    let dir = Dir::new("suffix");
    dir.write("b.prom", "b 2\n")
        .write("a.prom", "a 1\n")
        .write("c.prom.tmp", "c 3\n")
        .write("README", "not metrics\n");
    let (families, errors) = collect(&[dir.path()]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        names(&families),
        ["a", "b", merge::MTIME, merge::SCRAPE_ERROR]
    );
    let d = dir.path();
    assert_eq!(
        mtime_files(&families),
        [format!("{d}/a.prom"), format!("{d}/b.prom")]
    );
    assert_eq!(scrape_error(&families), 0.0);
    assert_eq!(family(&families, "a").kind, MetricKind::Unknown);
    assert_eq!(
        family(&families, "a").help,
        format!("Metric read from {d}/a.prom")
    );
}

#[test]
fn an_empty_directory_reports_no_error_and_no_mtimes() {
    let dir = Dir::new("empty");
    let (families, errors) = collect(&[dir.path()]);
    assert!(errors.is_empty());
    assert_eq!(names(&families), [merge::SCRAPE_ERROR]);
    assert_eq!(scrape_error(&families), 0.0);
}

#[test]
fn a_missing_directory_is_an_error() {
    let dir = Dir::new("missing");
    let (families, errors) = collect(&[format!("{}/nope", dir.path())]);
    assert_eq!(scrape_error(&families), 1.0);
    assert!(
        errors[0].starts_with("failed to read textfile collector directory"),
        "{errors:?}"
    );
}

#[test]
fn a_bad_file_is_skipped_whole_and_the_good_ones_stay() {
    let dir = Dir::new("bad");
    dir.write("good.prom", "good 1\n")
        .write("broken.prom", "half 1\nbroken{ 2\n")
        .write("stamped.prom", "stamped 1 1700000000000\n")
        .write("big.prom", &"x 1\n".repeat(300));
    let (families, errors) = collect(&[dir.path()]);
    assert_eq!(
        names(&families),
        ["good", merge::MTIME, merge::SCRAPE_ERROR]
    );
    assert_eq!(
        mtime_files(&families),
        [format!("{}/good.prom", dir.path())]
    );
    assert_eq!(scrape_error(&families), 1.0);
    let all = errors.join("\n");
    assert!(all.contains("larger than max_file_bytes"), "{all}");
    assert!(all.contains("text format parsing error in line 2"), "{all}");
    assert!(all.contains("unsupported client-side timestamps"), "{all}");
}

#[test]
fn a_fifo_is_refused_without_being_opened() {
    let dir = Dir::new("fifo");
    let fifo = dir.0.join("pipe.prom");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Opening a FIFO for reading would block until a writer comes.
    let (families, errors) = collect(&[dir.path()]);
    assert_eq!(scrape_error(&families), 1.0);
    assert!(errors[0].contains("is not a regular file"), "{errors:?}");
}

#[test]
fn families_merge_across_files_with_labels_filled_to_their_union() {
    let dir = Dir::new("merge");
    dir.write(
        "a.prom",
        "# TYPE events_total counter\nevents_total{file=\"a\"} 10\n",
    )
    .write(
        "b.prom",
        "# HELP events_total Events.\n# TYPE events_total counter\nevents_total{file=\"b\",kind=\"x\"} 20\n",
    );
    let (families, errors) = collect(&[dir.path()]);
    assert!(errors.is_empty(), "{errors:?}");
    let events = family(&families, "events_total");
    assert_eq!(events.kind, MetricKind::Counter);
    assert_eq!(events.help, "Events.");
    assert_eq!(events.label_names, ["file", "kind"]);
    assert_eq!(events.series_labels(0), ["a", ""]);
    assert_eq!(events.series_labels(1), ["b", "x"]);
}

#[test]
fn contradicting_help_or_type_drops_the_later_files_family() {
    // HELP contradictions set the error gauge (node_exporter's textfile
    // code checks them); type ones only reach the log (its registry refuses
    // them at gather time).
    let dir = Dir::new("contradict");
    dir.write(
        "a.prom",
        "# HELP m First.\n# TYPE m gauge\nm{f=\"a\"} 1\n# TYPE n gauge\nn 1\n",
    )
    .write("b.prom", "# HELP m Second.\n# TYPE m gauge\nm{f=\"b\"} 2\n")
    .write("c.prom", "# TYPE n counter\nn 3\n");
    let (families, errors) = collect(&[dir.path()]);
    assert_eq!(family(&families, "m").series.len(), 1);
    assert_eq!(family(&families, "m").help, "First.");
    assert_eq!(family(&families, "n").kind, MetricKind::Gauge);
    assert_eq!(scrape_error(&families), 1.0);
    let all = errors.join("\n");
    assert!(all.contains("inconsistent metric help text"), "{all}");
    assert!(all.contains("inconsistent metric type"), "{all}");
    // Both later files still read; their times are reported.
    assert_eq!(mtime_files(&families).len(), 3);
}

#[test]
fn a_repeated_series_keeps_its_first_value_and_is_logged() {
    let dir = Dir::new("repeat");
    dir.write("a.prom", "x{l=\"1\"} 1\n")
        .write("b.prom", "x{l=\"1\"} 2\n");
    let (families, errors) = collect(&[dir.path()]);
    let x = family(&families, "x");
    assert_eq!(x.series.len(), 1);
    assert_eq!(x.series[0].value, SampleValue::Unknown(1.0));
    assert!(errors[0].contains("read more than once"), "{errors:?}");
    assert_eq!(scrape_error(&families), 0.0);
}

#[test]
fn the_collectors_own_families_cannot_be_defined_by_a_file() {
    let dir = Dir::new("own");
    dir.write("a.prom", "node_textfile_scrape_error 0\nok 1\n");
    let (families, errors) = collect(&[dir.path()]);
    assert_eq!(family(&families, merge::SCRAPE_ERROR).series.len(), 1);
    assert_eq!(scrape_error(&families), 0.0);
    assert!(errors[0].contains("reports itself"), "{errors:?}");
}

#[test]
fn histograms_gain_an_inf_bucket_and_sort_their_buckets() {
    let dir = Dir::new("hist");
    dir.write(
        "h.prom",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"0.5\"} 1\nh_sum 3\nh_count 4\n",
    );
    let (families, _) = collect(&[dir.path()]);
    let SampleValue::Histogram(h) = &family(&families, "h").series[0].value else {
        panic!()
    };
    let buckets: Vec<(f64, u64)> = h
        .buckets
        .iter()
        .map(|b| (b.upper_bound, b.cumulative_count))
        .collect();
    assert_eq!(buckets, [(0.5, 1), (1.0, 2), (f64::INFINITY, 4)]);
    assert_eq!((h.sum, h.count), (3.0, 4));
}

#[test]
fn glob_patterns_name_several_directories() {
    let dir = Dir::new("glob");
    std::fs::create_dir_all(dir.0.join("jobs/a")).unwrap();
    std::fs::create_dir_all(dir.0.join("jobs/b")).unwrap();
    std::fs::write(dir.0.join("jobs/a/a.prom"), "a 1\n").unwrap();
    std::fs::write(dir.0.join("jobs/b/b.prom"), "b 1\n").unwrap();
    let (families, errors) = collect(&[format!("{}/jobs/*", dir.path())]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(mtime_files(&families).len(), 2);
    // A pattern that matches nothing stands for itself, and fails.
    let (families, _) = collect(&[format!("{}/nothing/*", dir.path())]);
    assert_eq!(scrape_error(&families), 1.0);
}

#[test]
fn config_needs_absolute_directories() {
    let init = |dirs: &[&str]| {
        Textfile::init(Config {
            directories: dirs.iter().map(|d| (*d).to_owned()).collect(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        })
    };
    assert!(matches!(init(&[]), Err(InitError::InvalidConfig(m)) if m.contains("at least one")));
    assert!(
        matches!(init(&["relative"]), Err(InitError::InvalidConfig(m)) if m.contains("absolute"))
    );
    assert!(init(&["/var/lib/node_exporter/textfile_collector"]).is_ok());
}
